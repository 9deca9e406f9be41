import { WardenError } from '../platform/errors';

/**
 * `HostConfig.SecurityOpt` (`docker run --security-opt …`) → the launch request's seccomp
 * field. The docker CLI reads `seccomp=<file>` itself and sends the file's JSON inline, so a
 * value starting with `{` is a profile. Docker accepts `key=value` and the older `key:value`.
 * Whatever Warden does not apply is refused by name: accepting it would promise a
 * confinement (or a release from one) that does not happen.
 */
export interface SecurityOptions {
  seccomp?: 'default' | 'unconfined' | Record<string, unknown>;
}

const refuse = (message: string): never => {
  throw new WardenError('VALIDATION_FAILED', `security option ${message}`);
};

function split(opt: string): [string, string | undefined] {
  const m = /^([a-z-]+)[=:]([\s\S]*)$/.exec(opt);
  return m ? [m[1], m[2]] : [opt, undefined];
}

function seccompOption(value: string): SecurityOptions['seccomp'] {
  if (value === 'unconfined') return 'unconfined';
  if (value === 'builtin') return 'default';
  if (!value.trimStart().startsWith('{'))
    return refuse(
      `seccomp=${value.slice(0, 64)}: give unconfined, builtin or a profile's JSON ` +
        '(the docker CLI sends the file named in seccomp=<file>)',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    return refuse(`seccomp: the profile is not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return refuse('seccomp: the profile must be a JSON object');
  return parsed as Record<string, unknown>;
}

export function parseSecurityOpt(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = {};
  for (const opt of opts) {
    const [key, value] = split(opt);
    switch (key) {
      case 'seccomp':
        if (value === undefined) refuse('seccomp needs a value: seccomp=unconfined or seccomp=<file>');
        else if (out.seccomp !== undefined) refuse('seccomp is given more than once');
        else out.seccomp = seccompOption(value);
        break;
      case 'no-new-privileges':
        // Warden sets no_new_privs for every container process; asking for it changes nothing.
        if (value !== undefined && value !== 'true' && value !== 'false')
          refuse(`no-new-privileges=${value}: use true or false`);
        if (value === 'false')
          refuse(
            'no-new-privileges=false is not supported: Warden always sets no_new_privs, ' +
              'so setuid binaries and file capabilities cannot raise privileges',
          );
        break;
      case 'apparmor':
        refuse(
          `${opt.slice(0, 80)} is not applied by Warden: it confines with seccomp, not AppArmor; leave apparmor out`,
        );
        break;
      case 'label':
        refuse(`${opt.slice(0, 80)} is not applied by Warden: it has no SELinux labelling; leave label out`);
        break;
      case 'systempaths':
        refuse(
          `${opt.slice(0, 80)} is not supported: Warden always masks /proc and /sys paths; leave systempaths out`,
        );
        break;
      default:
        refuse(`'${opt.slice(0, 80)}' is unknown to Warden: use seccomp=… or no-new-privileges`);
    }
  }
  return out;
}
