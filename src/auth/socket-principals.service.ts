import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AuditService } from '../audit';
import { WardenError } from '../platform/errors';
import type { Caller, Principal } from '../platform/http';
import { PrincipalRepository } from './principal.repository';
import { SocketPrincipalMapping, SocketPrincipalRepository } from './socket-principal.repository';

/** The built-in principal root acts as on the docker socket (issue 6): a deployer, under policy. */
export const DOCKER_ROOT: Principal = { id: 'docker-root', role: 'deployer', teams: [] };

const SYSTEM = { principal: 'system', source: { via: 'system' as const } };

/**
 * Docker-socket peers are identified by the kernel (SO_PEERCRED uid), never by anything they
 * send; this maps the uid to a principal. On a fresh install uid 0 acts as `docker-root`, so
 * root's `docker run` works under the baseline policy. The default is only added when uid 0
 * has no mapping: an admin who points uid 0 at an auditor principal (no launches) keeps that.
 */
@Injectable()
export class SocketPrincipalsService implements OnApplicationBootstrap {
  private readonly log = new Logger('auth');

  constructor(
    private readonly mappings: SocketPrincipalRepository,
    private readonly principals: PrincipalRepository,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (await this.principals.insert(DOCKER_ROOT, 'builtin', SYSTEM.principal)) {
      await this.audit.record({
        type: 'principal.created',
        ...SYSTEM,
        subject: DOCKER_ROOT.id,
        payload: { ...DOCKER_ROOT, kind: 'builtin', reason: 'docker socket: uid 0 acts as this principal' },
      });
    }
    if (await this.mappings.put(0, DOCKER_ROOT.id, SYSTEM.principal, true)) {
      await this.audit.record({
        type: 'api.call',
        ...SYSTEM,
        subject: 'uid:0',
        payload: { action: 'socket-principal.mapped', uid: 0, principalId: DOCKER_ROOT.id },
      });
      this.log.log(`docker socket: uid 0 mapped to principal ${DOCKER_ROOT.id}`);
    }
  }

  /** The caller behind a socket peer uid; 403 with the fix when the uid is not mapped. */
  async callerFor(uid: number, pid?: number): Promise<Caller> {
    const principal = await this.mappings.principalFor(uid);
    if (!principal)
      throw new WardenError(
        'FORBIDDEN',
        `uid ${uid} is not mapped to a Warden principal, so it may not use the docker socket; ` +
          `an admin can map it with PUT /socket-principals/${uid} {"principalId": "<principal>"}`,
        { uid, pid },
      );
    return { principal, source: { via: 'docker', peerUid: uid } };
  }

  /**
   * The caller behind a Docker TCP client certificate (mutual TLS, issued by the operator's
   * CA): its subject CN names the principal, as a mapped uid does on the socket.
   */
  async callerForCertificate(subject: string, fingerprint: string): Promise<Caller> {
    const principal = await this.principals.find(subject);
    if (!principal)
      throw new WardenError(
        'FORBIDDEN',
        `client certificate CN=${subject} names no Warden principal, so it may not use the Docker API; ` +
          `an admin can create it with POST /principals {"id": "${subject}", …}, or issue the certificate with CN=<principal id>`,
        { subject, fingerprint },
      );
    return { principal, source: { via: 'docker', peerCertificate: `CN=${subject}` } };
  }

  list(): Promise<SocketPrincipalMapping[]> {
    return this.mappings.list();
  }

  async map(by: Caller, uid: number, principalId: string): Promise<SocketPrincipalMapping> {
    if (!(await this.principals.find(principalId)))
      throw new WardenError(
        'PRINCIPAL_NOT_FOUND',
        `no principal '${principalId}': create it first with POST /principals`,
        { principalId },
      );
    await this.mappings.put(uid, principalId, by.principal.id);
    await this.audit.record({
      type: 'api.call',
      principal: by.principal.id,
      source: by.source,
      subject: `uid:${uid}`,
      payload: { action: 'socket-principal.mapped', uid, principalId },
    });
    return (await this.mappings.list()).find((m) => m.uid === uid)!;
  }

  async unmap(by: Caller, uid: number): Promise<void> {
    if (!(await this.mappings.delete(uid)))
      throw new WardenError('PRINCIPAL_NOT_FOUND', `uid ${uid} is not mapped`, { uid });
    await this.audit.record({
      type: 'api.call',
      principal: by.principal.id,
      source: by.source,
      subject: `uid:${uid}`,
      payload: { action: 'socket-principal.unmapped', uid },
    });
  }
}
