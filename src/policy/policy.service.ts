import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { AuditService } from '../audit';
import type { AuditDecision, AuditEventInput } from '../audit';
import { WARDEN_CONFIG, WardenConfig } from '../platform/config';
import { classifyError, isDatabaseUnavailable, WardenError } from '../platform/errors';
import { ChangeBus } from '../platform/queue';
import type { Caller } from '../platform/http';
import { formatImageReference, imageSourceCheck, toContainerSpec } from './core';
import type {
  ContainerSpec,
  Decision,
  EvaluatedPolicy,
  EvaluationResult,
  Exception,
  ExecSpec,
  Principal,
} from './core';
import { evaluateAttach } from './evaluate-attach';
import { evaluateConnect, type ConnectSpec } from './evaluate-connect';
import { evaluateExec, type ExecEvaluation } from './evaluate-exec';
import type { AttachSpec } from './spec/attach-spec';
import { evaluateForNoPolicy, evaluatePolicy } from './evaluate';
import { evaluateVolume, type VolumeEvaluation } from './evaluate-volume';
import { evaluateImageContent, evaluatePush } from './evaluate-image';
import type { ImageContentSpec } from './spec/image-content';
import type { PushSpec } from './spec/push-spec';
import type { VolumeSpec } from './spec/volume-spec';
import { ExceptionRepository } from './exception.repository';
import { ExecRequestRepository } from './exec-request.repository';
import { PolicyRepository } from './policy.repository';
import { resolveBinding, Resolution } from './resolve-binding';

export interface DecideOptions {
  /** Evaluate only: nothing is recorded, neither the launch request nor an audit event. */
  dryRun?: boolean;
}

export interface DecideResult extends EvaluationResult {
  /** Id of the recorded launch request (also the audit event's subject); absent on a dry run. */
  launchRequestId?: string;
}

/** allowed with reasons only happens in audit mode: the launch proceeds, the denial is recorded. */
export function auditDecisionOf(d: Decision): AuditDecision {
  if (!d.allowed) return 'denied';
  return d.reasons.length ? 'would-deny' : 'allowed';
}

function isContainerSpec(x: unknown): x is ContainerSpec {
  const o = x as Partial<ContainerSpec> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.image === 'object' &&
    o.image !== null &&
    typeof o.hostNamespaces === 'object' &&
    Array.isArray(o.capAdd)
  );
}

/** Host symlinks are resolved so a bind of /allowed/link cannot lead outside the allowlist. */
const realpath = (p: string) => realpathSync(p);

/**
 * The one decision point (DESIGN: every launch and every pull). It finds the policy bound to
 * the principal, evaluates the pure core with the live exceptions, and — unless it is a dry
 * run — records the launch request and a `policy.decision` audit event before it returns, so
 * nothing acts on a decision that is not on the record. Anything that stops it from knowing
 * the policy denies (fail closed).
 *
 * Cache: the resolved policy per principal (and the live exceptions) stay in memory until a
 * policy, binding or exception changes. A change in any process on the same Redis is
 * published on the ChangeBus (issue 18), so every API node drops its cache within a second.
 */
@Injectable()
export class PolicyService implements OnModuleInit {
  private readonly log = new Logger(PolicyService.name);
  // Bumped on every invalidation: a load that started before it must not refill the cache.
  private generation = 0;
  private readonly bound = new Map<string, Resolution>();
  private exceptions: Exception[] | undefined;

  constructor(
    private readonly policies: PolicyRepository,
    private readonly exceptionRepo: ExceptionRepository,
    private readonly audit: AuditService,
    private readonly execRequests: ExecRequestRepository,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
    private readonly changes: ChangeBus,
  ) {}

  onModuleInit(): void {
    this.changes.subscribe('policy', () => this.dropCache());
  }

  /** Called after any policy, version, binding or exception change: here, and on every other node. */
  invalidate(): void {
    this.dropCache();
    void this.changes.publish('policy');
  }

  private dropCache(): void {
    this.generation++;
    this.bound.clear();
    this.exceptions = undefined;
  }

  async decide(caller: Caller, request: unknown, opts: DecideOptions = {}): Promise<DecideResult> {
    const spec = this.toSpec(request);
    const principal = principalOf(caller);
    const result = await this.evaluateBound(principal, spec);
    if (opts.dryRun) return result;

    const id = randomUUID();
    const { decision, effectiveSpec } = result;
    await this.recordDecision(
      'launch',
      id,
      () =>
        this.policies.insertLaunchRequest({
          id,
          principal: principal.id,
          principalTeams: principal.teams,
          request,
          spec,
          decision,
          policyVersion: decision.policyVersion,
          createdAt: new Date(),
        }),
      () => this.policies.deleteLaunchRequest(id),
      {
        type: 'policy.decision',
        principal: principal.id,
        source: caller.source,
        subject: id,
        decision: auditDecisionOf(decision),
        policyHash: decision.policyVersion ?? undefined,
        payload: {
          action: 'launch',
          launchRequestId: id,
          image: formatImageReference(spec.image),
          spec: effectiveSpec,
          decision,
        },
      },
    );
    return { ...result, launchRequestId: id };
  }

  /**
   * A pull through the registry proxy: only the image-source rules apply (the rest concern
   * how a container runs, which a pull does not decide). Exceptions for that rule count.
   */
  async decidePull(caller: Caller, imageRef: string, opts: DecideOptions = {}): Promise<Decision> {
    const spec = this.toSpec({ image: imageRef });
    const principal = principalOf(caller);
    const { decision } = await this.evaluateBound(principal, spec, [imageSourceCheck]);
    if (!opts.dryRun)
      await this.audit.record({
        type: 'policy.decision',
        principal: principal.id,
        source: caller.source,
        subject: imageRef,
        decision: auditDecisionOf(decision),
        policyHash: decision.policyVersion ?? undefined,
        payload: { action: 'pull', image: imageRef, decision },
      });
    return decision;
  }

  /**
   * A volume's creation (issue 17): the volume rules of the caller's bound policy, recorded as
   * a `policy.decision` event before the volume is made. No policy, no volume (fail closed).
   */
  async decideVolume(caller: Caller, vol: VolumeSpec): Promise<VolumeEvaluation> {
    const principal = principalOf(caller);
    let result: VolumeEvaluation;
    try {
      const resolution = await this.resolve(principal);
      result = resolution.ok
        ? evaluateVolume(resolution.policy, vol)
        : { decision: resolution.decision, effectiveVolume: vol };
    } catch (err) {
      const loadError = err instanceof Error ? err.message : String(err);
      result = { decision: evaluateForNoPolicy({ principal, loadError }), effectiveVolume: vol };
    }
    const { decision } = result;
    await this.audit.record({
      type: 'policy.decision',
      principal: principal.id,
      source: caller.source,
      subject: vol.name,
      decision: auditDecisionOf(decision),
      policyHash: decision.policyVersion ?? undefined,
      payload: { action: 'volume.create', volume: result.effectiveVolume, decision },
    });
    return result;
  }

  /**
   * What an image's layers turned out to hold (device nodes outside /dev), judged for the
   * caller who launches it, once unpacking found it and before the container exists; recorded
   * as a `policy.decision` event like the launch's own. No policy, no admission (fail closed).
   */
  async decideImageContent(caller: Caller, image: ImageContentSpec): Promise<Decision> {
    return this.decideWith(caller, image.digest, { action: 'image.content', image }, (p) =>
      evaluateImageContent(p, image),
    );
  }

  /**
   * A push (issue 17 point 6): the destination rules of the caller's bound policy, recorded
   * as a `policy.decision` event before anything is sent. No policy, no push (fail closed).
   */
  async decidePush(caller: Caller, push: PushSpec): Promise<Decision> {
    return this.decideWith(caller, push.image, { action: 'push', push }, (p) => evaluatePush(p, push));
  }

  private async decideWith(
    caller: Caller,
    subject: string,
    payload: Record<string, unknown>,
    evaluate: (policy: EvaluatedPolicy) => Decision | Promise<Decision>,
  ): Promise<Decision> {
    const principal = principalOf(caller);
    let decision: Decision;
    try {
      const resolution = await this.resolve(principal);
      decision = resolution.ok ? await evaluate(resolution.policy) : resolution.decision;
    } catch (err) {
      const loadError = err instanceof Error ? err.message : String(err);
      decision = evaluateForNoPolicy({ principal, loadError });
    }
    await this.audit.record({
      type: 'policy.decision',
      principal: principal.id,
      source: caller.source,
      subject,
      decision: auditDecisionOf(decision),
      policyHash: decision.policyVersion ?? undefined,
      payload: { ...payload, decision },
    });
    return decision;
  }

  /**
   * An attach to a running container (issue 15): the caller's bound policy's `attach` rules,
   * recorded as a `policy.decision` event either way before anything streams. No policy, no
   * attach (fail closed).
   */
  async decideAttach(caller: Caller, spec: AttachSpec): Promise<Decision> {
    const payload = {
      action: 'attach',
      container: spec.container.name,
      image: formatImageReference(spec.container.image),
      stdin: spec.stdin,
      tty: spec.tty,
    };
    return this.decideWith(caller, spec.container.id, payload, async (policy) =>
      evaluateAttach({
        policy,
        spec,
        principal: principalOf(caller),
        exceptions: await this.liveExceptions(),
        now: new Date(),
      }),
    );
  }

  /**
   * `docker network connect` (issue 16): the network judged by the caller's bound policy as
   * the container's own network is at create (`network.allowedNetworks`, and the egress rules
   * for a container on it), recorded as a `policy.decision` event before anything changes.
   * No policy, no connect (fail closed).
   */
  async decideConnect(caller: Caller, spec: ConnectSpec): Promise<Decision> {
    const payload = { action: 'network.connect', container: spec.container.name, network: spec.network };
    return this.decideWith(caller, spec.container.id, payload, async (policy) =>
      evaluateConnect({
        policy,
        spec,
        principal: principalOf(caller),
        exceptions: await this.liveExceptions(),
        now: new Date(),
      }),
    );
  }

  /**
   * An exec into a running container (issue 15): the exec rules of the caller's bound policy,
   * recorded as a `policy.decision` event (action `exec`, with the command, user, TTY flag and
   * the exec's id) before anything runs. No policy, no exec (fail closed).
   */
  async decideExec(caller: Caller, execId: string, spec: ExecSpec): Promise<ExecEvaluation> {
    const principal = principalOf(caller);
    let result: ExecEvaluation;
    try {
      const resolution = await this.resolve(principal);
      result = resolution.ok
        ? evaluateExec({
            policy: resolution.policy,
            spec,
            principal,
            exceptions: await this.liveExceptions(),
            now: new Date(),
            defaultRecordingBytes: this.config.runtime.execRecordingMaxBytes,
          })
        : { decision: resolution.decision, obligations: {} };
    } catch (err) {
      const loadError = err instanceof Error ? err.message : String(err);
      result = { decision: evaluateForNoPolicy({ principal, loadError }), obligations: {} };
    }
    const { decision, obligations } = result;
    // As for launches: the replay record first, then the decision's event (fail closed).
    await this.recordDecision(
      'exec',
      execId,
      () =>
        this.execRequests.insert({
          id: execId,
          principal: principal.id,
          principalTeams: principal.teams,
          spec,
          decision,
          policyVersion: decision.policyVersion,
          createdAt: new Date(),
        }),
      () => this.execRequests.delete(execId),
      {
        type: 'policy.decision',
        principal: principal.id,
        source: caller.source,
        subject: spec.container.id,
        decision: auditDecisionOf(decision),
        policyHash: decision.policyVersion ?? undefined,
        payload: {
          action: 'exec',
          execId,
          container: spec.container.name,
          image: formatImageReference(spec.container.image),
          cmd: spec.cmd,
          user: spec.user,
          uid: spec.uid,
          tty: spec.tty,
          privileged: spec.privileged,
          envNames: spec.env.map((e) => e.slice(0, Math.max(0, e.indexOf('=')))),
          recording: obligations.recording ?? null,
          decision,
        },
      },
    );
    return result;
  }

  /**
   * Dry run against a named policy (its active version, or `versionId`) rather than the one
   * bound to the caller: "what would this policy say about this request". Records nothing.
   */
  async evaluateNamed(
    caller: Caller,
    name: string,
    request: unknown,
    versionId?: string,
  ): Promise<EvaluationResult> {
    const spec = this.toSpec(request, 'body');
    const policy = await this.policies.findPolicy(name);
    if (!policy) throw notFound(name);
    const id = versionId ?? policy.activeVersion;
    if (!id)
      throw new WardenError(
        'POLICY_NOT_ACTIVE',
        `policy ${name} has no active version; activate one or pass versionId`,
        { policy: name },
      );
    const version = await this.policies.findVersion(id);
    if (!version || version.policy !== name)
      throw new WardenError('POLICY_VERSION_NOT_FOUND', `policy ${name} has no version ${id}`, {
        policy: name,
        versionId: id,
      });
    return evaluatePolicy({
      policy: { name, versionId: version.id, doc: version.document },
      spec,
      principal: principalOf(caller),
      exceptions: await this.liveExceptions(),
      now: new Date(),
      realpath,
    });
  }

  /**
   * The replay record first, then the decision's audit event: a decision is never on the
   * record without its request (kill -9 between the two leaves at most a request nobody acted
   * on). If the event cannot be made durable (Redis down), the request is taken back and
   * nothing acts on the decision: 503, fail closed.
   */
  async recordDecision(
    what: 'launch' | 'exec' | 'admission',
    id: string,
    insert: () => Promise<void>,
    undo: () => Promise<void>,
    event: AuditEventInput,
  ): Promise<void> {
    try {
      await insert();
    } catch (err) {
      // Only a database that cannot be reached is "retry later"; a value it refuses (SQLSTATE
      // 22xxx, e.g. a NUL byte) is the request's fault and says so.
      if (!isDatabaseUnavailable(err)) throw classifyError(err) ?? err;
      throw new WardenError(
        'UNAVAILABLE',
        `could not record the ${what} request, so nothing was decided or run; retry when the database is back`,
        {},
        { cause: err },
      );
    }
    try {
      await this.audit.record(event);
    } catch (err) {
      await undo().catch((e: Error) =>
        this.log.warn(`${what} request ${id} kept without its decision event: ${e.message}`),
      );
      throw err;
    }
  }

  /** Validates a launch request into a spec; a spec built by another surface passes as is. */
  toSpec(request: unknown, where?: 'body'): ContainerSpec {
    if (isContainerSpec(request)) return request;
    const r = toContainerSpec(request);
    if (r.ok) return r.spec;
    const problems = where ? r.errors.map((e) => `${where}.${e}`) : r.errors;
    throw new WardenError('VALIDATION_FAILED', `invalid launch request: ${problems.join('; ')}`, {
      problems,
    });
  }

  /** The bound policy's judgement of a spec, recording nothing (admission records its own). */
  async evaluateBound(
    principal: Principal,
    spec: ContainerSpec,
    checks?: Parameters<typeof evaluatePolicy>[0]['checks'],
    // A Kubernetes hostPath is on a cluster node, not here: judged as written (normalized).
    opts: { hostPathsHere?: boolean } = {},
  ): Promise<EvaluationResult> {
    let resolution: Resolution;
    let exceptions: Exception[] = [];
    try {
      resolution = await this.resolve(principal);
      if (resolution.ok) exceptions = await this.liveExceptions();
    } catch (err) {
      this.log.error({ err }, `policy for principal ${principal.id} could not be loaded`);
      const loadError = err instanceof Error ? err.message : String(err);
      resolution = { ok: false, decision: evaluateForNoPolicy({ principal, loadError }) };
    }
    if (!resolution.ok) return { decision: resolution.decision, effectiveSpec: spec };
    return evaluatePolicy({
      policy: resolution.policy,
      spec,
      principal,
      exceptions,
      now: new Date(),
      realpath: opts.hostPathsHere === false ? undefined : realpath,
      checks,
      systemDefaults: this.config.runtime,
    });
  }

  /** The bound policy for a principal, from the cache or the database. */
  async resolve(principal: Principal): Promise<Resolution> {
    const subjects = principal.subjects ?? [];
    const key = [principal.id, ...[...principal.teams].sort(), '\0', ...[...subjects].sort()].join('\0');
    const hit = this.bound.get(key);
    if (hit) return hit;
    const gen = this.generation;
    const resolution = resolveBinding(
      principal,
      await this.policies.matchBindings(principal.id, principal.teams, subjects),
    );
    if (gen === this.generation) this.bound.set(key, resolution);
    return resolution;
  }

  private async liveExceptions(): Promise<Exception[]> {
    if (this.exceptions) return this.exceptions;
    const gen = this.generation;
    // Expired entries may linger until the next invalidation; evaluatePolicy checks expiry itself.
    const list = await this.exceptionRepo.list({ live: true });
    if (gen === this.generation) this.exceptions = list;
    return list;
  }
}

export function principalOf(caller: Caller): Principal {
  return { id: caller.principal.id, teams: caller.principal.teams ?? [] };
}

export function notFound(name: string): WardenError {
  return new WardenError('POLICY_NOT_FOUND', `no policy named ${name}; GET /policies lists them`, {
    policy: name,
  });
}
