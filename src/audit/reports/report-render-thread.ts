import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
// Also the thread's entry: importing it keeps it in every build's program (bench/run.sh
// compiles one script's import graph).
import type { RenderThreadData, ReportFile, ReportJobInput } from './report-render';

/**
 * How long one report may take before its thread is stopped and the report fails: a bound
 * for a render gone wrong, far above the ~1 min a 100k-row report takes on a busy host.
 */
export const RENDER_TIMEOUT_MS = 30 * 60_000;

export class ReportRenderError extends Error {
  constructor(
    message: string,
    /**
     * A report that overran or took its thread down (out of memory, say) is not retried: it
     * would do the same again. One whose generation threw (the database away a moment) is.
     */
    readonly final: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReportRenderError';
  }
}

// Under ts-jest (and ts-node) this file is TypeScript and so is the worker's entry; a thread
// gets no loader of the parent's, so it is given one: TypeScript's own transpiler, per file.
const TS_ENTRY = `
const ts = require('typescript');
const fs = require('node:fs');
require.extensions['.ts'] = (m, file) => m._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), {
  fileName: file,
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
}).outputText, file);
require(require('node:worker_threads').workerData.entry);
`;

/**
 * Generates a report — reads the evidence, verifies the chain, renders the files — in a
 * worker thread of its own. Issue 13 measured one render with a long label holding the
 * reports worker's event loop, the same loop that commits audit events, for more than 13
 * minutes; a thread has its own loop, heap and database connection, runs a little below the
 * process's priority, and is terminated when it overruns. One thread per report: reports are
 * rare, and a thread that ends frees everything the report held.
 */
export function generateInThread(job: ReportJobInput, timeoutMs = RENDER_TIMEOUT_MS): Promise<ReportFile[]> {
  const ext = path.extname(__filename);
  const entry = path.join(__dirname, `report-render${ext}`);
  const data: RenderThreadData & { entry: string } = { generateReport: job, entry };
  // A bound on the thread's heap, so a render cannot take the process's memory with it.
  const resourceLimits = { maxOldGenerationSizeMb: 1024 };
  const worker =
    ext === '.ts'
      ? new Worker(TS_ENTRY, { eval: true, workerData: data, resourceLimits })
      : new Worker(entry, { workerData: data, resourceLimits });
  return new Promise<ReportFile[]>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(
      () =>
        settle(() =>
          reject(
            new ReportRenderError(
              `generating took longer than ${Math.round(timeoutMs / 1000)} s: stopped`,
              true,
            ),
          ),
        ),
      timeoutMs,
    );
    worker.once(
      'message',
      (m: { files?: Array<ReportFile & { data: Uint8Array }>; error?: { message: string } }) =>
        settle(() =>
          m.files
            ? resolve(
                m.files.map((f) => ({
                  ...f,
                  data: Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength),
                })),
              )
            : reject(new ReportRenderError(`generating failed: ${m.error?.message}`, false)),
        ),
    );
    worker.once('error', (err) =>
      settle(() =>
        reject(new ReportRenderError(`report thread failed: ${err.message}`, true, { cause: err })),
      ),
    );
    worker.once('exit', (code) =>
      settle(() =>
        reject(new ReportRenderError(`report thread exited (code ${code}) before it answered`, false)),
      ),
    );
  });
}
