import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Kubernetes admission (issue 18): policies bound to a Kubernetes user, group, namespace or
 * service account (`<namespace>:<name>`), beside Warden's own principals and teams.
 */
export class AddKubernetesBindingKinds1796306751891 implements MigrationInterface {
  name = 'AddKubernetesBindingKinds1796306751891';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE policy_bindings DROP CONSTRAINT policy_bindings_kind_check`);
    await q.query(`
      ALTER TABLE policy_bindings ADD CONSTRAINT policy_bindings_kind_check CHECK (kind IN (
        'principal', 'team', 'everyone', 'k8s-user', 'k8s-group', 'k8s-namespace', 'k8s-serviceaccount'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM policy_bindings WHERE kind LIKE 'k8s-%'`);
    await q.query(`ALTER TABLE policy_bindings DROP CONSTRAINT policy_bindings_kind_check`);
    await q.query(
      `ALTER TABLE policy_bindings ADD CONSTRAINT policy_bindings_kind_check CHECK (kind IN ('principal', 'team', 'everyone'))`,
    );
  }
}
