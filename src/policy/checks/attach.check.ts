import type { PolicyRules } from '../document/policy-document';
import type { AttachSpec } from '../spec/attach-spec';
import { CheckContext, CheckResult, violation } from './check-result';

/** The same contract for an attach to a running container (issue 15). */
export type AttachCheck = (attach: AttachSpec, rules: PolicyRules, ctx: CheckContext) => CheckResult[];

/**
 * Whether the caller may attach at all (`attach.allow`), and with stdin (`attach.allowStdin`:
 * typing into a container's process is an action in it, as an exec is). Per bound policy, so
 * per principal, team or everyone. No `attach` rule: attach as Docker allows it.
 */
export const attachCheck: AttachCheck = (spec, rules, ctx) => {
  const a = rules.attach;
  if (!a) return [];
  if (a.allow === false)
    return [
      violation(
        ctx,
        'attach.allow',
        `attaching to containers is not allowed (container ${spec.container.name})`,
        {
          container: spec.container.name,
        },
      ),
    ];
  if (spec.stdin && a.allowStdin === false)
    return [
      violation(
        ctx,
        'attach.allowStdin',
        `attaching with stdin is not allowed (container ${spec.container.name}); attach without it (--no-stdin) to read its output`,
        { container: spec.container.name, stdin: true },
      ),
    ];
  return [];
};
