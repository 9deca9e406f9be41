import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const VERSION = 'v1';

export class SecretBoxError extends Error {}

/**
 * Secrets at rest in the database (upstream registry credentials), sealed with AES-256-GCM
 * under a key kept in a file on this node, never in the database: a dump of the database
 * alone reveals nothing. The sealed text names the key (a short hash of it), so a node with
 * another key says so instead of failing as "corrupt". `context` is bound as associated data
 * (e.g. the row's alias): a sealed value copied to another row does not open there.
 *
 * Sealed form: `v1.<key id>.<iv>.<tag>.<ciphertext>`, parts base64url.
 */
export class SecretBox {
  private key?: Promise<Buffer>;

  constructor(readonly keyFile: string) {}

  async seal(plain: string, context: string): Promise<string> {
    const key = await this.loadKey(true);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ct].map((b) => b.toString('base64url'));
    return [VERSION, keyId(key), ...parts].join('.');
  }

  async open(sealed: string, context: string): Promise<string> {
    const [version, id, iv, tag, ct] = sealed.split('.');
    if (version !== VERSION || ct === undefined)
      throw new SecretBoxError('sealed secret has an unknown format');
    const key = await this.loadKey(false);
    if (keyId(key) !== id)
      throw new SecretBoxError(
        `the secret was sealed with another key (${id}) than ${this.keyFile} (${keyId(key)}): copy the key file from the node that stored it`,
      );
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch (err) {
      throw new SecretBoxError('sealed secret does not verify (altered, or moved from another record)', {
        cause: err,
      });
    }
  }

  private loadKey(create: boolean): Promise<Buffer> {
    // A failed read is not cached: the file may be copied in later (multi-node setups).
    const p = (this.key ??= this.readOrCreate(create));
    p.catch(() => {
      if (this.key === p) this.key = undefined;
    });
    return p;
  }

  private async readOrCreate(create: boolean): Promise<Buffer> {
    const existing = await this.read();
    if (existing) return existing;
    if (!create)
      throw new SecretBoxError(`no key file ${this.keyFile}: nothing sealed on this node can be opened`);
    await mkdir(dirname(this.keyFile), { recursive: true, mode: 0o700 });
    // Written whole under a temp name, then linked into place: link fails if another process
    // won the race, and then both use the winner's key.
    const tmp = `${this.keyFile}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      await link(tmp, this.keyFile).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    const key = await this.read();
    if (!key) throw new SecretBoxError(`could not create ${this.keyFile}`);
    return key;
  }

  private async read(): Promise<Buffer | undefined> {
    const info = await stat(this.keyFile).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!info) return undefined;
    // Like ssh with a private key: a key others can read is not a secret any more.
    if (info.mode & 0o077)
      throw new SecretBoxError(`${this.keyFile} is readable by group or others: chmod 600 it`);
    const key = Buffer.from((await readFile(this.keyFile, 'utf8')).trim(), 'base64');
    if (key.length !== KEY_BYTES) throw new SecretBoxError(`${this.keyFile} does not hold a 32-byte key`);
    return key;
  }
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}
