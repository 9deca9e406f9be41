import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Volume usage joins usage samples (issue 17 point 1): the bytes a container's volumes held
 * when it was sampled, summed and per volume name; null for a container without volumes and
 * for a volume that was not measured (a plain directory too big for a bounded du).
 */
export class AddUsageVolumeBytes1796312000000 implements MigrationInterface {
  name = 'AddUsageVolumeBytes1796312000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_samples ADD COLUMN volume_bytes bigint, ADD COLUMN volumes jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE usage_samples DROP COLUMN volume_bytes, DROP COLUMN volumes`);
  }
}
