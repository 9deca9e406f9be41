import { ExecCheck, violation } from './check-result';

/** Root in the container is the container's every file and, with its capabilities, more. */
export const execUserCheck: ExecCheck = (spec, rules, ctx) => {
  if (rules.exec?.allowRoot !== false || spec.uid !== 0) return [];
  const asked = spec.user === '' ? "the image's default user" : `user ${JSON.stringify(spec.user)}`;
  return [
    violation(
      ctx,
      'exec.allowRoot',
      `exec as root (${asked} is uid 0) is not allowed: pass --user with a non-root user`,
      {
        user: spec.user,
        uid: spec.uid,
      },
    ),
  ];
};
