import { Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { WardenError } from '../../platform/errors';
import type { BlobReader } from '../store';
import { digestHex } from '../store';
import type { Syscalls } from '../../platform/ffi';
import { ExtractState } from './extract-state';
import { EntryRefused, refusalMessage } from './layer-entry-rules';

export interface LayerSource {
  /** The blob in the store (compressed or not, per mediaType). */
  digest: string;
  /** sha256 of the uncompressed tar, from the image config's rootfs.diff_ids. */
  diffId: string;
  mediaType: string;
}

export interface UnpackOptions {
  /** Character and block devices and fifos outside `dev/`; refused unless the policy allows them. */
  allowDevices?: boolean;
  /** Refuse regular files with setuid/setgid bits (kept otherwise, as Docker does). */
  refuseSetuid?: boolean;
}

/**
 * What a layer contains that a stricter caller may refuse, kept next to the unpacked dir so
 * a layer unpacked once under a lax policy is still refused under a strict one.
 */
interface LayerFacts {
  diffId: string;
  firstSetuid?: string;
  firstDevice?: string;
  /** Device nodes under `dev/` left out (absent in facts written before they were skipped). */
  skippedDevices?: string[];
}

/** An unpacked layer: its directory and the device nodes under `dev/` it left out. */
export interface UnpackedLayer {
  dir: string;
  skippedDevices: string[];
  /** The first device node or fifo outside `dev/` (unpacked only under allowDevices). */
  device?: string;
}

/** Names kept in a layer's facts; past this only the count grows (a tree has a few dozen). */
const SKIPPED_NAMES_KEPT = 64;

const TEMP_PREFIX = '.tmp-';

function decompressorFor(layerDigest: string, mediaType: string): Transform | undefined {
  if (/\+zstd$|\.zstd$/.test(mediaType)) {
    throw new WardenError(
      'LAYER_INVALID',
      `layer ${layerDigest} is zstd-compressed, which this build cannot read yet`,
      {
        layer: layerDigest,
        mediaType,
      },
    );
  }
  if (/gzip$/.test(mediaType)) return createGunzip();
  if (/tar$/.test(mediaType)) return undefined;
  throw new WardenError('LAYER_INVALID', `layer ${layerDigest} has unknown media type ${mediaType}`, {
    layer: layerDigest,
    mediaType,
  });
}

/**
 * Each layer is unpacked once per diff_id into `<layersDir>/<diff_id hex>/`, ready to be an
 * overlay lowerdir. It is built in a private temp dir and renamed into place only when every
 * entry passed and the uncompressed bytes hashed to the diff_id, so a refused or corrupt
 * layer leaves nothing behind and a present dir is always complete.
 *
 * Entries are never written through a symlink: every path created here is recorded with its
 * kind, and a parent that is not a directory this unpack created refuses the entry. Only
 * this process writes into the temp dir, so the record is the truth (an lstat of the parent
 * double-checks it).
 */
export class LayerUnpacker {
  private readonly log = new Logger(LayerUnpacker.name);
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly preserveOwnership: boolean;

  constructor(
    private readonly layersDir: string,
    private readonly blobs: BlobReader,
    private readonly sys: Syscalls,
    opts: { preserveOwnership?: boolean } = {},
  ) {
    // lchown needs CAP_CHOWN; unprivileged (test) runs keep their own uid.
    this.preserveOwnership = opts.preserveOwnership ?? process.getuid?.() === 0;
  }

  layerPath(diffId: string): string {
    return join(this.layersDir, digestHex(diffId));
  }

  /**
   * Unpacks (or finds) the layer and returns its directory. Concurrent calls with the same
   * options share one unpack. A layer refused under `opts` leaves no directory; one already
   * unpacked under laxer options is refused from its recorded facts.
   */
  async unpack(layer: LayerSource, opts: UnpackOptions = {}): Promise<string> {
    return (await this.unpackLayer(layer, opts)).dir;
  }

  /** As `unpack`, with what the unpack left out. */
  async unpackLayer(layer: LayerSource, opts: UnpackOptions = {}): Promise<UnpackedLayer> {
    const dir = this.layerPath(layer.diffId);
    const key = `${dir}|${opts.allowDevices ? 'd' : ''}${opts.refuseSetuid ? 's' : ''}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.unpackOnce(layer, dir, opts).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    await pending;
    const facts = JSON.parse(await readFile(`${dir}.json`, 'utf8')) as LayerFacts;
    this.enforce(layer, facts, opts);
    return { dir, skippedDevices: facts.skippedDevices ?? [], device: facts.firstDevice };
  }

  private enforce(layer: LayerSource, facts: LayerFacts, opts: UnpackOptions): void {
    const refuse = (entry: string, reason: string, kind?: 'device') => {
      throw new WardenError('LAYER_REFUSED', refusalMessage(layer.digest, entry, reason), {
        layer: layer.digest,
        diffId: layer.diffId,
        entry,
        reason,
        ...(kind ? { kind } : {}),
      });
    };
    if (!opts.allowDevices && facts.firstDevice)
      refuse(
        facts.firstDevice,
        'device nodes and fifos outside /dev are not allowed (the policy does not allow device nodes in images)',
        'device',
      );
    if (opts.refuseSetuid && facts.firstSetuid)
      refuse(facts.firstSetuid, 'setuid/setgid file refused by policy');
  }

  private async unpackOnce(layer: LayerSource, dir: string, opts: UnpackOptions): Promise<void> {
    if (await exists(dir)) return;
    await mkdir(this.layersDir, { recursive: true, mode: 0o700 });
    const tmp = join(
      this.layersDir,
      `${TEMP_PREFIX}${digestHex(layer.diffId).slice(0, 12)}-${randomBytes(6).toString('hex')}`,
    );
    await mkdir(tmp, { mode: 0o700 });
    try {
      const facts = await this.extractInto(layer, tmp, opts);
      await chmod(tmp, 0o755);
      // Facts first: a layer dir that exists always has its facts next to it.
      await writeFile(`${dir}.json`, JSON.stringify(facts));
      try {
        await rename(tmp, dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err;
        await rm(tmp, { recursive: true, force: true }); // another process finished first
      }
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  private async extractInto(layer: LayerSource, root: string, opts: UnpackOptions): Promise<LayerFacts> {
    const decompress = decompressorFor(layer.digest, layer.mediaType);
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    const extract = tar.extract();
    const source = await this.blobs.open(layer.digest);
    const feeding = pipeline([source, ...(decompress ? [decompress] : []), hasher, extract] as unknown as [
      Readable,
      Transform,
    ]);
    feeding.catch(() => undefined); // observed below; this only keeps an early failure from being unhandled

    const state = new ExtractState(root, this.sys, this.preserveOwnership, opts);
    try {
      for await (const entry of extract) {
        try {
          await state.apply(entry);
        } catch (err) {
          if (err instanceof EntryRefused) {
            throw new WardenError('LAYER_REFUSED', refusalMessage(layer.digest, err.entry, err.reason), {
              layer: layer.digest,
              diffId: layer.diffId,
              entry: err.entry,
              reason: err.reason,
              ...(err.kind ? { kind: err.kind } : {}),
            });
          }
          throw err;
        } finally {
          entry.resume();
        }
      }
      await feeding;
    } catch (err) {
      source.destroy();
      extract.destroy();
      if (err instanceof WardenError) throw err;
      throw new WardenError(
        'LAYER_INVALID',
        `layer ${layer.digest} could not be read: ${(err as Error).message}`,
        {
          layer: layer.digest,
        },
        { cause: err },
      );
    }
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== layer.diffId) {
      throw new WardenError(
        'LAYER_INVALID',
        `layer ${layer.digest} does not match its diff_id: the image config says ${layer.diffId}, the uncompressed layer hashes to ${actual}`,
        { layer: layer.digest, expected: layer.diffId, actual },
      );
    }
    await state.finish();
    const skipped = state.skippedDevices;
    if (skipped.length)
      this.log.log(
        `layer ${layer.diffId}: left out ${skipped.length} device node(s) under /dev (${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', …' : ''}); the container's own /dev covers them`,
      );
    return {
      diffId: layer.diffId,
      firstSetuid: state.firstSetuid,
      firstDevice: state.firstDevice,
      skippedDevices: skipped.slice(0, SKIPPED_NAMES_KEPT),
    };
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}
