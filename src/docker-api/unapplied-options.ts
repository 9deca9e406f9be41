import { z } from 'zod';
import { WardenError } from '../platform/errors';
import { text } from '../platform/http';

/**
 * HostConfig fields Warden does not apply. The docker CLI sends most of them on every
 * `docker run` with an empty or default value, which is accepted; any other value is refused
 * with a message naming the field and its flag, never accepted and then ignored (a container
 * that asked for `--add-host …` would otherwise run without it).
 */
const list = z.array(text(4096)).max(256).nullable().optional();

export const unappliedFieldsSchema = {
  DeviceCgroupRules: list,
  OomKillDisable: z.boolean().nullable().optional(),
  CgroupnsMode: text(32).optional(),
  ExtraHosts: list,
  Runtime: text(64).optional(),
  MaskedPaths: list,
  ReadonlyPaths: list,
};

type Fields = { [K in keyof typeof unappliedFieldsSchema]?: z.infer<(typeof unappliedFieldsSchema)[K]> };

const empty = (v: unknown): boolean =>
  v === undefined ||
  v === null ||
  v === '' ||
  v === false ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && Object.keys(v).length === 0);

interface Rule {
  field: keyof Fields;
  flag: string;
  /** What Warden's value is, beyond "not set". */
  accepts?: (v: NonNullable<Fields[keyof Fields]>) => boolean;
  /** Only null means "Warden's defaults"; an empty list is a request (nothing masked). */
  nullOnly?: boolean;
  why: string;
}

const RULES: Rule[] = [
  {
    field: 'DeviceCgroupRules',
    flag: '--device-cgroup-rule',
    why: 'Warden grants no device access beyond its defaults',
  },
  {
    field: 'OomKillDisable',
    flag: '--oom-kill-disable',
    why: "the kernel's OOM killer always acts within a container's memory cap",
  },
  {
    field: 'CgroupnsMode',
    flag: '--cgroupns',
    accepts: (v) => v === 'private',
    why: 'every container gets a private cgroup namespace',
  },
  { field: 'ExtraHosts', flag: '--add-host', why: 'Warden does not write extra /etc/hosts entries yet' },
  {
    field: 'Runtime',
    flag: '--runtime',
    accepts: (v) => v === 'warden',
    why: "Warden's shim is the only runtime",
  },
  {
    field: 'MaskedPaths',
    flag: 'MaskedPaths',
    nullOnly: true,
    why: 'Warden masks its fixed list of /proc and /sys paths',
  },
  {
    field: 'ReadonlyPaths',
    flag: 'ReadonlyPaths',
    nullOnly: true,
    why: 'Warden keeps its fixed read-only /proc paths',
  },
];

export function refuseUnappliedOptions(hc: Fields): void {
  for (const r of RULES) {
    const v = hc[r.field];
    if (r.nullOnly ? v == null : empty(v) || (v != null && r.accepts?.(v))) continue;
    const shown = JSON.stringify(v).slice(0, 120);
    throw new WardenError(
      'VALIDATION_FAILED',
      `HostConfig.${r.field} (${r.flag}) ${shown} is not applied: ${r.why}; leave ${r.flag} out`,
    );
  }
}
