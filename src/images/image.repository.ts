import { Injectable } from '@nestjs/common';
import { DataSource, QueryRunner } from 'typeorm';
import { PlainSql } from '../platform/database';
import { scopeSql, sqlParams, type Scope } from '../platform/scope';
import type { ParsedImage } from './archive-images';
import { RuntimeConfig, runtimeConfigOf } from './image-manifest';

export interface ImageTag {
  registry: string;
  repository: string;
  tag: string;
}

/** A registry name an image was pulled under (see migration CreateImageOrigins). */
export interface ImageOrigin {
  registry: string;
  repository: string;
  /** The upstream alias it came through. */
  upstream: string;
}

export interface ImageLayerRecord {
  digest: string;
  diffId: string;
  mediaType: string;
  size: number;
}

/**
 * Who may see and use an image (table image_owners; see platform/scope): a team, a principal
 * without a team (`team` null), or everyone (`shared`, an admin's without a team).
 */
export interface ImageOwner {
  team: string | null;
  createdBy: string;
  shared: boolean;
}

/**
 * The predicate keeping a query on `images i` to the images a scope sees: those it owns
 * (a team of its, or itself without one) and the shared ones.
 */
export function imageScopeSql(scope: Scope, param: (v: unknown) => string): string | undefined {
  const owned = scopeSql(scope, { team: 'o.team', createdBy: 'o.created_by' }, param);
  return (
    owned && `EXISTS (SELECT 1 FROM image_owners o WHERE o.digest = i.digest AND (o.shared OR ${owned}))`
  );
}

export interface ImageRecord {
  digest: string;
  configDigest: string;
  mediaType: string;
  size: number;
  os: string;
  architecture: string;
  variant?: string;
  imageCreated?: string;
  config: RuntimeConfig;
  createdAt: string;
  createdBy: string;
  tags: ImageTag[];
  layers: ImageLayerRecord[];
}

interface ImageRow {
  digest: string;
  config_digest: string;
  media_type: string;
  size: string;
  os: string;
  architecture: string;
  variant: string | null;
  image_created: Date | null;
  config: RuntimeConfig;
  created_at: Date;
  created_by: string;
  tags: ImageTag[] | null;
  layers: Array<{ digest: string; diff_id: string; media_type: string; size: string }> | null;
}

const toRecord = (r: ImageRow): ImageRecord => ({
  digest: r.digest,
  configDigest: r.config_digest,
  mediaType: r.media_type,
  size: Number(r.size),
  os: r.os,
  architecture: r.architecture,
  variant: r.variant ?? undefined,
  imageCreated: r.image_created?.toISOString(),
  config: r.config,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  tags: r.tags ?? [],
  layers: (r.layers ?? []).map((l) => ({
    digest: l.digest,
    diffId: l.diff_id,
    mediaType: l.media_type,
    size: Number(l.size),
  })),
});

const SELECT_IMAGES = `
  SELECT i.*,
    (SELECT json_agg(json_build_object('registry', t.registry, 'repository', t.repository, 'tag', t.tag)
            ORDER BY t.registry, t.repository, t.tag)
       FROM image_tags t WHERE t.digest = i.digest) AS tags,
    (SELECT json_agg(json_build_object('digest', l.blob_digest, 'diff_id', l.diff_id, 'media_type', l.media_type, 'size', l.size)
            ORDER BY l.idx)
       FROM image_layers l WHERE l.manifest_digest = i.digest) AS layers
  FROM images i`;

/**
 * Imports and removals both touch blobs on disk and rows here; this session-level advisory
 * lock orders them. Imports hold it shared (they may run side by side), a removal holds it
 * exclusively while it decides which blobs nothing references any more and deletes them, so
 * it can never delete a blob an import is about to reference.
 */
const BLOB_LOCK_KEY = '8675309001';

@Injectable()
export class ImageRepository {
  /** The lookups a launch makes, without a QueryRunner per statement (see PlainSql). */
  private readonly sql: PlainSql;

  constructor(private readonly ds: DataSource) {
    this.sql = new PlainSql(ds);
  }

  async withBlobLock<T>(mode: 'shared' | 'exclusive', fn: (q: QueryRunner) => Promise<T>): Promise<T> {
    const q = this.ds.createQueryRunner();
    await q.connect();
    const suffix = mode === 'shared' ? '_shared' : '';
    try {
      await q.query(`SELECT pg_advisory_lock${suffix}($1::bigint)`, [BLOB_LOCK_KEY]);
      try {
        return await fn(q);
      } finally {
        await q.query(`SELECT pg_advisory_unlock${suffix}($1::bigint)`, [BLOB_LOCK_KEY]);
      }
    } finally {
      await q.release();
    }
  }

  /**
   * Ids of containers created from this manifest digest, in any state: an image is in use
   * while any of them exists. Images sit below the runtime, so this reads the runtime's
   * table rather than asking its module (which depends on this one).
   */
  async containersUsing(q: QueryRunner, manifestDigest: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await q.query('SELECT id FROM containers WHERE image_digest = $1', [
      manifestDigest,
    ]);
    return rows.map((r) => r.id);
  }

  /**
   * Records an image and points its tags at it, in one transaction. Re-importing is a no-op
   * for the image; the owner is added (another team bringing the same image may use it too).
   * Without an owner it is its creator's alone.
   */
  async insert(
    q: QueryRunner,
    image: ParsedImage,
    createdBy: string,
    origin?: ImageOrigin,
    owner: ImageOwner = { team: null, createdBy, shared: false },
  ): Promise<void> {
    await q.startTransaction();
    try {
      const size = image.manifestSize + image.configSize + image.layers.reduce((n, l) => n + l.size, 0);
      const inserted: unknown[] = await q.query(
        `INSERT INTO images (digest, config_digest, media_type, size, os, architecture, variant, image_created, config, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (digest) DO NOTHING RETURNING digest`,
        [
          image.manifestDigest,
          image.configDigest,
          image.manifestMediaType,
          size,
          image.config.os,
          image.config.architecture,
          image.config.variant ?? null,
          validDate(image.config.created),
          JSON.stringify(runtimeConfigOf(image.config)),
          createdBy,
        ],
      );
      if (inserted.length > 0) {
        for (const [idx, l] of image.layers.entries()) {
          await q.query(
            `INSERT INTO image_layers (manifest_digest, idx, blob_digest, diff_id, media_type, size) VALUES ($1, $2, $3, $4, $5, $6)`,
            [image.manifestDigest, idx, l.digest, l.diffId, l.mediaType, l.size],
          );
        }
      }
      for (const t of image.tags) {
        await q.query(
          `INSERT INTO image_tags (registry, repository, tag, digest) VALUES ($1, $2, $3, $4)
           ON CONFLICT (registry, repository, tag) DO UPDATE SET digest = EXCLUDED.digest, updated_at = now()`,
          [t.registry, t.repository, t.tag, image.manifestDigest],
        );
      }
      await q.query(
        `INSERT INTO image_owners (digest, team, created_by, shared) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [image.manifestDigest, owner.shared ? null : owner.team, owner.createdBy, owner.shared],
      );
      if (origin)
        await q.query(
          `INSERT INTO image_origins (registry, repository, digest, upstream, pulled_by) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (registry, repository, digest) DO UPDATE SET pulled_at = now(), pulled_by = EXCLUDED.pulled_by, upstream = EXCLUDED.upstream`,
          [origin.registry, origin.repository, image.manifestDigest, origin.upstream, createdBy],
        );
      await q.commitTransaction();
    } catch (err) {
      await q.rollbackTransaction();
      throw err;
    }
  }

  /** The images the scope sees, newest first. */
  async list(scope: Scope): Promise<ImageRecord[]> {
    const { params, param } = sqlParams();
    const scoped = imageScopeSql(scope, param);
    const rows: ImageRow[] = await this.ds.query(
      `${SELECT_IMAGES} ${scoped ? `WHERE ${scoped}` : ''} ORDER BY i.created_at DESC, i.digest`,
      params,
    );
    return rows.map(toRecord);
  }

  async findByDigest(digest: string, scope: Scope): Promise<ImageRecord | undefined> {
    const { params, param } = sqlParams(1);
    const scoped = imageScopeSql(scope, param);
    const rows = await this.sql.rows<ImageRow>(
      `${SELECT_IMAGES} WHERE i.digest = $1 ${scoped ? `AND ${scoped}` : ''}`,
      [digest, ...params],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** Images whose manifest digest starts with `sha256:<hexPrefix>` (short ids, as `docker images` shows). */
  async findByDigestPrefix(hexPrefix: string, scope: Scope): Promise<ImageRecord[]> {
    const { params, param } = sqlParams(1);
    const scoped = imageScopeSql(scope, param);
    const rows: ImageRow[] = await this.ds.query(
      `${SELECT_IMAGES} WHERE i.digest LIKE $1 ${scoped ? `AND ${scoped}` : ''} LIMIT 2`,
      [`sha256:${hexPrefix}%`, ...params],
    );
    return rows.map(toRecord);
  }

  async findByTag(t: ImageTag, scope: Scope): Promise<ImageRecord | undefined> {
    const { params, param } = sqlParams(3);
    const scoped = imageScopeSql(scope, param);
    const rows = await this.sql.rows<ImageRow>(
      `${SELECT_IMAGES} WHERE i.digest = (SELECT digest FROM image_tags WHERE registry = $1 AND repository = $2 AND tag = $3)
         ${scoped ? `AND ${scoped}` : ''}`,
      [t.registry, t.repository, t.tag, ...params],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /** Who owns an image (image_owners). */
  async ownersOf(q: QueryRunner, digest: string): Promise<ImageOwner[]> {
    const rows: Array<{ team: string | null; created_by: string; shared: boolean }> = await q.query(
      'SELECT team, created_by, shared FROM image_owners WHERE digest = $1',
      [digest],
    );
    return rows.map((r) => ({ team: r.team, createdBy: r.created_by, shared: r.shared }));
  }

  /** Drops the owners the scope stands for (a deployer's rmi of an image others own too). */
  async deleteOwners(q: QueryRunner, digest: string, scope: Scope): Promise<void> {
    const { params, param } = sqlParams(1);
    const owned = scopeSql(scope, { team: 'team', createdBy: 'created_by' }, param) ?? 'true';
    await q.query(
      `WITH d AS (DELETE FROM image_owners WHERE digest = $1 AND NOT shared AND ${owned} RETURNING 1) SELECT count(*) FROM d`,
      [digest, ...params],
    );
  }

  /** Registry names the image was pulled under; none for an image that was only imported. */
  async originsOf(digest: string): Promise<ImageOrigin[]> {
    return this.sql.rows<ImageOrigin>(
      `SELECT registry, repository, upstream FROM image_origins WHERE digest = $1 ORDER BY registry, repository`,
      [digest],
    );
  }

  /** Every blob some image consists of: what prune must keep. Call under the exclusive blob lock. */
  async referencedBlobs(q: QueryRunner): Promise<Set<string>> {
    const rows: Array<{ digest: string }> = await q.query(
      `SELECT digest FROM images UNION SELECT config_digest FROM images UNION SELECT blob_digest FROM image_layers`,
    );
    return new Set(rows.map((r) => r.digest));
  }

  /**
   * Layers (by diff_id) some image has. Containers keep their image (removal refuses while
   * one exists), so this covers every container's layers too; `containerImagesMissing` says
   * when that no longer holds and the unpacked layers must be left alone.
   */
  async referencedDiffIds(q: QueryRunner): Promise<Set<string>> {
    const rows: Array<{ diff_id: string }> = await q.query(`SELECT DISTINCT diff_id FROM image_layers`);
    return new Set(rows.map((r) => r.diff_id));
  }

  /** Image digests that containers were created from but that have no image row any more. */
  async containerImagesMissing(q: QueryRunner): Promise<string[]> {
    const rows: Array<{ image_digest: string }> = await q.query(
      `SELECT DISTINCT image_digest FROM containers
        WHERE image_digest IS NOT NULL AND image_digest NOT IN (SELECT digest FROM images)`,
    );
    return rows.map((r) => r.image_digest);
  }

  async deleteTag(q: QueryRunner, t: ImageTag): Promise<boolean> {
    const rows: unknown[] = await q.query(
      `WITH d AS (DELETE FROM image_tags WHERE registry = $1 AND repository = $2 AND tag = $3 RETURNING 1) SELECT * FROM d`,
      [t.registry, t.repository, t.tag],
    );
    return rows.length > 0;
  }

  async countTags(q: QueryRunner, digest: string): Promise<number> {
    const rows: Array<{ n: string }> = await q.query(
      `SELECT count(*) AS n FROM image_tags WHERE digest = $1`,
      [digest],
    );
    return Number(rows[0].n);
  }

  /**
   * Deletes an image (tags and layer rows cascade) and answers which of its blobs no other
   * image references any more: the caller deletes those files while still holding the lock.
   */
  async deleteImage(q: QueryRunner, digest: string, blobs: string[]): Promise<string[]> {
    await q.startTransaction();
    try {
      await q.query(`WITH d AS (DELETE FROM images WHERE digest = $1 RETURNING 1) SELECT * FROM d`, [digest]);
      const still: Array<{ digest: string }> = await q.query(
        `SELECT digest FROM images WHERE digest = ANY($1)
         UNION SELECT config_digest FROM images WHERE config_digest = ANY($1)
         UNION SELECT blob_digest FROM image_layers WHERE blob_digest = ANY($1)`,
        [blobs],
      );
      await q.commitTransaction();
      const referenced = new Set(still.map((r) => r.digest));
      return [...new Set(blobs)].filter((b) => !referenced.has(b));
    } catch (err) {
      await q.rollbackTransaction();
      throw err;
    }
  }
}

function validDate(s: string | undefined): string | null {
  return s && !Number.isNaN(Date.parse(s)) ? s : null;
}
