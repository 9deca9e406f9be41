import { ExecCheck, violation } from './check-result';

// Patterns are parsed once per policy version, not once per decision.
const compiled = new WeakMap<readonly string[], RegExp[]>();

/** `*` matches any run of characters; everything else is literal (`LD_*`, `*_TOKEN`, `PATH`). */
function compile(patterns: readonly string[]): RegExp[] {
  let out = compiled.get(patterns);
  if (!out) {
    out = patterns.map(
      (p) =>
        new RegExp(
          `^${p
            .split('*')
            .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        ),
    );
    compiled.set(patterns, out);
  }
  return out;
}

/**
 * Variables an exec may not set (`exec.deniedEnv`): e.g. `LD_PRELOAD` loads code into
 * whatever the exec runs, `*_PROXY` reroutes its traffic. Names only: a value is not shown.
 */
export const execEnvCheck: ExecCheck = (spec, rules, ctx) => {
  const denied = rules.exec?.deniedEnv;
  if (!denied?.length) return [];
  const res = compile(denied);
  const names = [...new Set(spec.env.map((e) => e.slice(0, Math.max(0, e.indexOf('=')))))];
  return names.flatMap((name) => {
    const i = res.findIndex((re) => re.test(name));
    if (i < 0) return [];
    return [
      violation(
        ctx,
        'exec.deniedEnv',
        `environment variable ${name} may not be set on exec (matches ${denied[i]})`,
        {
          name,
          pattern: denied[i],
        },
      ),
    ];
  });
};
