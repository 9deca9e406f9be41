import type { Scope } from '../platform/scope';

/** A volume as Warden keeps it (issue 17). */
export interface VolumeRecord {
  name: string;
  driver: string;
  /** Driver options as given, `size` included (Docker shows them back this way). */
  options: Record<string, string>;
  labels: Record<string, string>;
  /** The size its filesystem was made with; undefined = unbounded (a plain directory). */
  sizeBytes?: number;
  /** Made for one container (`-v /path`, an image's `VOLUME`): `rm -v` and prune remove it. */
  anonymous: boolean;
  createdBy: string;
  /** The team that owns it (null: its creator alone); see platform/scope. */
  team: string | null;
  createdAt: string;
}

/** A volume as one container mounts it: what the launcher binds where. */
export interface ResolvedVolumeMount {
  name: string;
  /** The volume's data directory on the host. */
  source: string;
  target: string;
  readOnly: boolean;
  noCopy: boolean;
  anonymous: boolean;
}

export interface VolumeCreateRequest {
  name?: string;
  /** The owning team (REST `team`; the `warden.team` label on the Docker API). */
  team?: string;
  driver?: string;
  options?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface VolumeFilter {
  /** Only what this scope sees (platform/scope); everything when left out. */
  scope?: Scope;
  names?: string[];
  /** Every one must hold: [k, undefined] = has label k, [k, v] = k is v. */
  labels?: Array<[string, string | undefined]>;
  drivers?: string[];
  /** true: only volumes no container mounts; false: only mounted ones. */
  dangling?: boolean;
  anonymousOnly?: boolean;
}

/** Docker's label for anonymous volumes (moby volume/service: AnonymousLabel). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
