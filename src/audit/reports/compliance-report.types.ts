/** The compliance report's sections, as JSON carries them and CSV/PDF render them. */
export interface ReportParams {
  from: string;
  to: string;
  /** Only launches by principals of this team (at decision time). */
  team?: string;
  /** Only launches whose spec carries this label (`key` or `key=value`). */
  label?: string;
}

export interface DecisionCounts {
  launches: number;
  pulls: number;
  allowed: number;
  allowedByException: number;
  denied: number;
  wouldDeny: number;
}

export interface RuleCount {
  rule: string;
  denied: number;
  wouldDeny: number;
  waived: number;
  example: string;
}

export interface ExceptionUse {
  exceptionId: string;
  rule: string;
  requester?: string;
  approver?: string;
  ticket?: string;
  expiresAt?: string;
  uses: number;
}

export interface PolicyChange {
  time: string;
  principal: string;
  type: string;
  policy: string;
  versionId?: string;
  detail: Record<string, unknown>;
  /** For activations: leaf changes from the previously active version. */
  diff?: Array<{ path: string; from: unknown; to: unknown }>;
}

export interface CapHit {
  containerId: string;
  name?: string;
  image?: string;
  time: string;
  oomKilled: boolean;
  oomKills: number;
  throttledPeriods: number;
  exitCode: number | null;
}

/**
 * A container's network exposure in the window: networks joined, host ports, bandwidth caps,
 * egress allowlist.
 */
export interface ExposureRow {
  containerId: string;
  name?: string;
  image?: string;
  networks: string[];
  /** `hostIp:hostPort->containerPort/protocol`, as bound at its last start in the window. */
  published: string[];
  egressBps?: number;
  ingressBps?: number;
  /**
   * Where it may send, as created (its `egress` field, the `warden.egress` label or its
   * policy's `network.egress.default`): `CIDR[:ports][/proto]` entries. Absent: anywhere;
   * empty: nothing but DNS to its networks' resolvers and replies.
   */
  egress?: string[];
}

export interface ImageUse {
  registry: string;
  image: string;
  digest: string | null;
  launches: number;
  pulls: number;
}

export interface ShowbackRow {
  day: string;
  key: string;
  cpuSeconds: number;
  memoryGbHours: number;
  peakMemoryBytes: number;
  requestedMemoryBytes: number | null;
  /** The most the containers' volumes held in a sample of the day (summed per container); null: none measured. */
  peakVolumeBytes: number | null;
}

export interface ComplianceReport {
  kind: 'warden.compliance-report/v1';
  id: string;
  generatedAt: string;
  params: ReportParams;
  population: DecisionCounts & {
    containersCreated: number;
    containersDied: number;
    decisionsByDay: Array<{ day: string } & DecisionCounts>;
  };
  reasonsByRule: RuleCount[];
  exceptions: ExceptionUse[];
  policyVersionsActive: Array<{ policy: string; versionId: string }>;
  policyChanges: PolicyChange[];
  capHits: CapHit[];
  exposure: ExposureRow[];
  images: ImageUse[];
  showback: { definition: string; rows: ShowbackRow[] };
  chain: {
    verified: boolean;
    rows: number;
    rowsInWindow: number;
    headAtWindowEnd: { seq: number; hash: string } | null;
    firstBroken?: unknown;
  };
}
