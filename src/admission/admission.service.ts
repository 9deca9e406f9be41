import { Injectable } from '@nestjs/common';
import { AdmissionDecisionService, type AdmissionResult, type Principal } from '../policy';
import { describeIssues } from '../platform/http';
import { WardenError } from '../platform/errors';
import { admissionReviewSchema, type AdmissionRequest, type AdmissionResponse } from './admission-review';
import { mapPod } from './container-mapping';
import { defaultsPatch } from './defaults-patch';
import { podTemplateOf, type PodTemplate } from './pod-template';

export type Webhook = 'validate' | 'mutate';

/** What a review is bound by: the Kubernetes subjects, as binding kinds name them. */
export function principalOfReview(req: AdmissionRequest, pod: PodTemplate | undefined): Principal {
  const username = req.userInfo.username ?? 'system:anonymous';
  const namespace = req.namespace ?? pod?.object.namespace;
  const teams: string[] = (req.userInfo.groups ?? []).map((g) => `k8s-group:${g}`);
  if (namespace) {
    teams.push(`k8s-namespace:${namespace}`);
    if (pod) {
      const sa = pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? 'default';
      teams.push(`k8s-serviceaccount:${namespace}:${sa}`);
    }
  }
  const id = `k8s-user:${username}`;
  return { id, teams, subjects: [id, ...teams] };
}

/**
 * One AdmissionReview (issue 18): read it, find the pod (or the workload's pod template), map
 * each container to the spec a docker run becomes, judge them with the policy bound to the
 * review's Kubernetes subjects, record the decision, and answer. `validate` admits or denies
 * with every failing rule (audit-mode ones as warnings); `mutate` admits with a patch that
 * writes the policy's defaults in and leaves the verdict to the validating webhook, which
 * judges the patched object.
 */
@Injectable()
export class AdmissionService {
  constructor(private readonly decisions: AdmissionDecisionService) {}

  async review(webhook: Webhook, body: unknown, remote: string | undefined): Promise<AdmissionResponse> {
    const parsed = admissionReviewSchema.safeParse(body);
    if (!parsed.success) {
      const problems = describeIssues('body', parsed.error);
      throw new WardenError('VALIDATION_FAILED', `invalid AdmissionReview: ${problems.join('; ')}`, {
        problems,
      });
    }
    const req = parsed.data.request;
    const uid = req.uid;
    const kind = req.kind.kind;
    const judged = req.operation === 'CREATE' || req.operation === 'UPDATE';
    // Subresources other than ephemeral containers (status, scale, exec…) launch nothing.
    const sub = req.subResource && req.subResource !== 'ephemeralcontainers';
    const found = judged && !sub ? podTemplateOf(kind, req.object) : undefined;
    const pod = found?.ok ? found.template : undefined;
    const mapped = pod ? mapPod(pod) : { containers: [], problems: [], warnings: [] };
    if (found && !found.ok)
      mapped.problems.push({ rule: 'admission.mapping', message: found.problem, detail: { kind } });
    const warnings = [...mapped.warnings];
    if (judged && !sub && found === undefined)
      warnings.push(
        `Warden does not review ${kind} objects (it reviews Pods and pod templates); admitted unjudged`,
      );

    const principal = principalOfReview(req, pod);
    const object = {
      apiVersion: req.kind.group ? `${req.kind.group}/${req.kind.version}` : req.kind.version,
      kind,
      namespace: req.namespace ?? pod?.object.namespace ?? null,
      name: req.name ?? pod?.object.name ?? pod?.object.generateName ?? null,
      uid: pod?.object.uid ?? null,
    };
    const result = await this.decisions.decide({
      principal,
      source: { via: 'admission', ...(remote ? { ip: remote } : {}), requestId: uid },
      subject: object.uid ?? `${kind}/${object.namespace ?? ''}/${object.name ?? ''}`,
      containers: mapped.containers,
      problems: mapped.problems,
      record: webhook === 'validate' && !req.dryRun && mapped.containers.length > 0 ? 'launches' : 'decision',
      payload: {
        webhook,
        review: uid,
        operation: req.operation,
        dryRun: req.dryRun ?? false,
        kubernetes: {
          user: req.userInfo.username ?? null,
          uid: req.userInfo.uid ?? null,
          groups: req.userInfo.groups ?? [],
        },
        object,
        ...(sub ? { subResource: req.subResource } : {}),
        ...(warnings.length ? { warnings } : {}),
      },
    });
    return webhook === 'validate'
      ? validateAnswer(uid, kind, object, result, warnings)
      : mutateAnswer(uid, pod, result);
  }
}

function validateAnswer(
  uid: string,
  kind: string,
  object: { namespace: string | null; name: string | null },
  result: AdmissionResult,
  warnings: string[],
): AdmissionResponse {
  const { decision } = result;
  const out: AdmissionResponse = { uid, allowed: decision.allowed };
  // Audit mode admits and says what enforce mode would deny on.
  if (decision.allowed && decision.reasons.length)
    warnings.push(
      ...decision.reasons.map(
        (r) => `Warden policy ${decision.policy} (audit mode) would deny: ${r.message}`,
      ),
    );
  if (!decision.allowed) {
    const where = [object.namespace, object.name].filter(Boolean).join('/');
    const by = decision.policy ? `Warden policy ${decision.policy}` : 'Warden';
    out.status = {
      code: 403,
      reason: 'Forbidden',
      message:
        `${by} denies ${kind}${where ? ` ${where}` : ''}: ` +
        // Checks name their rule already; a mapping problem gets it added.
        decision.reasons
          .map((r) => (r.message.includes(`rule ${r.rule}`) ? r.message : `${r.message} (rule ${r.rule})`))
          .join('; '),
    };
  }
  if (warnings.length) out.warnings = warnings;
  return out;
}

function mutateAnswer(uid: string, pod: PodTemplate | undefined, result: AdmissionResult): AdmissionResponse {
  const out: AdmissionResponse = { uid, allowed: true };
  const ops = pod ? defaultsPatch(pod, result.containers) : [];
  if (ops.length) {
    out.patchType = 'JSONPatch';
    out.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
  }
  // The validating webhook reviews the patched object and gives its warnings once.
  return out;
}
