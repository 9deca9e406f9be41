import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'secret-box-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('seals and opens; the key file is created 0600 and holds no plaintext', async () => {
    const box = new SecretBox(join(dir, 'secrets', 'k.key'));
    const sealed = await box.seal('p@ssw0rd', 'local');
    expect(sealed).not.toContain('p@ssw0rd');
    expect(sealed).toMatch(/^v1\.[0-9a-f]{12}\./);
    expect(statSync(box.keyFile).mode & 0o777).toBe(0o600);
    expect(await box.open(sealed, 'local')).toBe('p@ssw0rd');
    // A second box on the same file (another process on this node) opens it too.
    expect(await new SecretBox(box.keyFile).open(sealed, 'local')).toBe('p@ssw0rd');
    expect(await box.seal('p@ssw0rd', 'local')).not.toBe(sealed);
  });

  it('refuses another context, an altered value, another key and a readable key file', async () => {
    const box = new SecretBox(join(dir, 'a.key'));
    const sealed = await box.seal('secret', 'one');
    await expect(box.open(sealed, 'two')).rejects.toThrow(/does not verify/);
    const parts = sealed.split('.');
    parts[4] = Buffer.from('other').toString('base64url');
    await expect(box.open(parts.join('.'), 'one')).rejects.toThrow(/does not verify/);
    const other = new SecretBox(join(dir, 'b.key'));
    await other.seal('x', 'y');
    await expect(other.open(sealed, 'one')).rejects.toThrow(/sealed with another key/);
    await expect(new SecretBox(join(dir, 'none.key')).open(sealed, 'one')).rejects.toThrow(/no key file/);
    chmodSync(join(dir, 'a.key'), 0o644);
    await expect(new SecretBox(join(dir, 'a.key')).open(sealed, 'one')).rejects.toThrow(/chmod 600/);
    expect(readFileSync(join(dir, 'a.key'), 'utf8')).not.toContain('secret');
  });
});
