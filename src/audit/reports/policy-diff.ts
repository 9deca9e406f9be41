/** One changed leaf between two policy documents: `rules.resources.memory.max: 2g → 1g`. */
export interface DocChange {
  path: string;
  from: unknown;
  to: unknown;
}

/**
 * Leaf-level differences between two JSON documents, paths in dotted form (array items by
 * index). Enough for an auditor to see what a policy change did; the full documents stay in
 * the report too.
 */
export function diffDocuments(a: unknown, b: unknown, prefix = ''): DocChange[] {
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffDocuments(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (JSON.stringify(a) === JSON.stringify(b)) return [];
    return [{ path: prefix, from: a, to: b }];
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  return [{ path: prefix || '(document)', from: a ?? null, to: b ?? null }];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
