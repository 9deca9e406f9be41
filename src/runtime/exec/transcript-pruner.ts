import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuditService } from '../../audit';
import { WARDEN_CONFIG, WardenConfig } from '../../platform/config';
import { EXEC_ID_RE } from './session-recorder';

/** How often the pruner looks, at most: an hour, or a quarter of a shorter retention. */
const MAX_INTERVAL_MS = 3_600_000;
const MIN_INTERVAL_MS = 1000;

export interface PrunedTranscript {
  execId: string;
  /** The pruned file's sha256: the `recording.sha256` of its exec.ended event, for the record. */
  sha256: string;
  bytes: number;
  lastWrite: string;
}

/**
 * Recorded exec transcripts (`<data dir>/exec-recordings/<exec id>.cast`) are each capped in
 * size; this bounds how many are kept: a transcript whose last write is older than
 * `WARDEN_EXEC_TRANSCRIPT_RETENTION` is deleted, at start and then periodically. The trail
 * keeps what went: one `exec.recordings.pruned` event per pass that removed any, with each
 * transcript's exec id and hash (the hash its `exec.ended` event carries), written before the
 * files are deleted (fail closed: no durable record, nothing removed). A session still running
 * writes to its file, so it is never older than its last output. Retention 0 keeps them all.
 */
@Injectable()
export class TranscriptPruner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(TranscriptPruner.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<PrunedTranscript[]>;

  constructor(
    private readonly audit: AuditService,
    @Inject(WARDEN_CONFIG) private readonly config: WardenConfig,
  ) {}

  onApplicationBootstrap(): void {
    const retention = this.config.runtime.execTranscriptRetentionMs;
    if (retention <= 0) return;
    const every = Math.max(MIN_INTERVAL_MS, Math.min(MAX_INTERVAL_MS, Math.floor(retention / 4)));
    const pass = () =>
      void this.prune().catch((err: Error) => this.log.warn(`pruning exec transcripts: ${err.message}`));
    pass();
    this.timer = setInterval(pass, every);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass (one at a time): what it removed. */
  prune(now = new Date()): Promise<PrunedTranscript[]> {
    this.running ??= this.pass(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(now: Date): Promise<PrunedTranscript[]> {
    const retention = this.config.runtime.execTranscriptRetentionMs;
    if (retention <= 0) return [];
    const dir = path.join(this.config.dataDir, 'exec-recordings');
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const cutoff = now.getTime() - retention;
    const due: Array<PrunedTranscript & { file: string }> = [];
    for (const name of names.sort()) {
      const execId = name.replace(/\.cast$/, '');
      if (!name.endsWith('.cast') || !EXEC_ID_RE.test(execId)) continue;
      const file = path.join(dir, name);
      const st = fs.lstatSync(file, { throwIfNoEntry: false });
      if (!st?.isFile() || st.mtimeMs >= cutoff) continue;
      const data = fs.readFileSync(file);
      due.push({
        execId,
        file,
        sha256: createHash('sha256').update(data).digest('hex'),
        bytes: data.length,
        lastWrite: st.mtime.toISOString(),
      });
    }
    if (!due.length) return [];
    const pruned = due.map(({ file: _file, ...t }) => t);
    await this.audit.record({
      type: 'exec.recordings.pruned',
      principal: 'system',
      source: { via: 'system' },
      subject: 'exec-recordings',
      payload: { retentionMs: retention, count: pruned.length, transcripts: pruned },
    });
    for (const t of due) fs.rmSync(t.file, { force: true });
    this.log.log(`pruned ${pruned.length} exec transcript(s) older than the retention`);
    return pruned;
  }
}
