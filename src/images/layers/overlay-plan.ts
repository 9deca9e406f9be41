import { WardenError } from '../../platform/errors';
import type { LayerSource, LayerUnpacker, UnpackOptions } from './unpack-layer';

/**
 * The mount(2) data page is one page: the whole `lowerdir=…,upperdir=…,workdir=…` string
 * must fit in 4096 bytes including the upper and work paths, which the runtime adds later.
 * Leave them room.
 */
const LOWERDIR_OPTION_BUDGET = 3072;

/**
 * Image layers (base first, as in the manifest) → overlay lowerdirs, top first as overlayfs
 * wants them. A diff_id that repeats keeps only its topmost occurrence: identical content
 * higher up already provides everything the lower copy did, and overlayfs refuses a
 * lowerdir given twice.
 */
export function planLowerdirs(layerDirs: string[]): string[] {
  const seen = new Set<string>();
  const top = [...layerDirs].reverse().filter((d) => !seen.has(d) && (seen.add(d), true));
  const optionLength = top.reduce((n, d) => n + d.length + 1, 'lowerdir='.length);
  if (optionLength > LOWERDIR_OPTION_BUDGET) {
    throw new WardenError(
      'LAYER_INVALID',
      `image has ${top.length} layers; their overlay lowerdir option is ${optionLength} bytes, over the ${LOWERDIR_OPTION_BUDGET}-byte budget of one mount call (flatten the image or use a shorter WARDEN_DATA_DIR)`,
      { layers: top.length, optionLength },
    );
  }
  for (const d of top) {
    // overlayfs splits lowerdir on ':' and options on ','; our dirs are hex, so this only guards the data dir.
    if (/[:,]/.test(d))
      throw new WardenError(
        'LAYER_INVALID',
        `layer path '${d}' contains ':' or ',', which overlayfs cannot take`,
      );
  }
  return top;
}

/** Unpacks every layer of an image (each once, shared with other images) and plans the overlay. */
export async function prepareLowerdirs(
  unpacker: LayerUnpacker,
  layers: LayerSource[],
  opts: UnpackOptions = {},
): Promise<string[]> {
  return (await prepareLayers(unpacker, layers, opts)).lowerdirs;
}

/** As prepareLowerdirs, with the device nodes under `dev/` that the layers left out. */
export async function prepareLayers(
  unpacker: LayerUnpacker,
  layers: LayerSource[],
  opts: UnpackOptions = {},
): Promise<{ lowerdirs: string[]; skippedDevices: string[]; deviceNodes: string[] }> {
  const dirs: string[] = [];
  const skipped = new Set<string>();
  const devices = new Set<string>();
  // One at a time: layers are mostly I/O bound on one disk, and the first refusal should stop the rest.
  for (const layer of layers) {
    const u = await unpacker.unpackLayer(layer, opts);
    dirs.push(u.dir);
    for (const s of u.skippedDevices) skipped.add(layerPath(s));
    if (u.device) devices.add(layerPath(u.device));
  }
  return { lowerdirs: planLowerdirs(dirs), skippedDevices: [...skipped], deviceNodes: [...devices] };
}

/** `./dev/console` and `dev/console` are one path. */
const layerPath = (name: string) => name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
