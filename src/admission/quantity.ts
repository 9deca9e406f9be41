/**
 * Kubernetes resource quantities (apimachinery resource.Quantity): a decimal number with a
 * binary (`Ki`…`Ei`), decimal (`n`, `u`, `m`, `k`, `M`…`E`) or exponent (`e3`) suffix.
 */
const QUANTITY_RE = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The quantity's value (`500m` → 0.5, `128Mi` → 134217728), or undefined when it is none. */
export function parseQuantity(q: string | number): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  const m = QUANTITY_RE.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  const scale = suffix === '' ? 1 : /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  const value = n * scale;
  return Number.isFinite(value) ? value : undefined;
}

/** Bytes as Kubernetes writes them: `512Mi` when whole mebibytes, else plain bytes. */
export function formatBytesQuantity(bytes: number): string {
  for (const [suffix, scale] of [
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const)
    if (bytes % scale === 0 && bytes >= scale) return `${bytes / scale}${suffix}`;
  return String(bytes);
}

/** NanoCPUs as Kubernetes writes CPUs: `1`, or millicores (`500m`). */
export function formatCpuQuantity(nanoCpus: number): string {
  if (nanoCpus % 1e9 === 0) return String(nanoCpus / 1e9);
  return `${Math.ceil(nanoCpus / 1e6)}m`;
}
