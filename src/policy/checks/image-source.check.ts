import { imageName, looksLikeRegistry } from '../../images';
import { normalizeRegistryEntry } from '../document/policy-document';
import { Check, violation } from './check-result';

interface SourceEntry {
  registry: string;
  path: string;
}

// Entries are parsed once per policy version, not once per decision.
const compiled = new WeakMap<readonly string[], SourceEntry[]>();

function compile(entries: readonly string[]): SourceEntry[] {
  let out = compiled.get(entries);
  if (out) return out;
  out = entries.map((raw) => {
    const entry = normalizeRegistryEntry(raw);
    const slash = entry.indexOf('/');
    const first = slash < 0 ? entry : entry.slice(0, slash);
    // Same split as image references: a first segment without '.', ':' or 'localhost' is a
    // repository path of a local image, not a host.
    if (entry === '' || !looksLikeRegistry(first)) return { registry: '', path: entry };
    return { registry: first, path: slash < 0 ? '' : entry.slice(slash + 1) };
  });
  compiled.set(entries, out);
  return out;
}

/** Whether an image is admitted by registry/repository entries (whole segments, see below). */
export function imageFromSources(
  image: { registry: string; repository: string },
  allowed: readonly string[],
): boolean {
  const registry = image.registry.toLowerCase();
  const repo = image.repository;
  return compile(allowed).some(
    (e) =>
      e.registry === registry &&
      (e.path === '' ||
        repo === e.path ||
        (repo.startsWith(e.path) && repo.charCodeAt(e.path.length) === 47)),
  );
}

/**
 * Registry and repository allowlist, matched on whole segments: `corp.io/team` admits
 * `corp.io/team` and `corp.io/team/x`, but not `corp.io/team-evil/x`, `corp.io.evil.com/x` or
 * `corp.io:5000/team/x` (another port is another registry).
 */
export const imageSourceCheck: Check = (spec, rules, ctx) => {
  const allowed = rules.images?.allowedRegistries;
  if (!allowed || imageFromSources(spec.image, allowed)) return [];
  const name = imageName(spec.image);
  const shown = allowed.map((a) => (a === '' ? 'local images' : a));
  return [
    violation(
      ctx,
      'images.allowedRegistries',
      `image ${spec.image.registry === '' ? `${name} (local)` : name} is not from an allowed registry or repository (allowed: ${shown.join(', ') || 'none'})`,
      { registry: spec.image.registry, repository: spec.image.repository, allowed: [...allowed] },
    ),
  ];
};
