// Prints, at the end of a run, the slowest test files (to keep the suite's time in view) and one
// closing line that any CI reads the same way, whatever the runner:
// "tests: N passed, N failed, N skipped". With WARDEN_TEST_TOTALS set (scripts/test.sh, which
// runs two jest runs side by side and sums them) the totals go to that file instead. With
// WARDEN_TEST_PROGRESS set, each file's start and end are appended to that file: the watchdog in
// scripts/test.sh reads it to tell a run that stopped moving, and which files it was in.
const fs = require('fs');
const path = require('path');

const SLOWEST = 20;

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.files = [];
    this.memory = { first: process.memoryUsage(), peakRss: 0, peakHeap: 0 };
  }

  /** The run's own process (all of it, run in band): what it holds grows with every file it keeps. */
  sampleMemory() {
    const { rss, heapUsed } = process.memoryUsage();
    this.memory.peakRss = Math.max(this.memory.peakRss, rss);
    this.memory.peakHeap = Math.max(this.memory.peakHeap, heapUsed);
    this.memory.last = { rss, heapUsed };
  }

  progress(what, file) {
    if (!process.env.WARDEN_TEST_PROGRESS) return;
    const rel = path.relative(this.rootDir, file);
    const { rss, heapUsed } = process.memoryUsage();
    const mb = (n) => Math.round(n / 2 ** 20);
    fs.appendFileSync(
      process.env.WARDEN_TEST_PROGRESS,
      `${new Date().toISOString()} ${what} ${rel} rss=${mb(rss)}M heap=${mb(heapUsed)}M\n`,
    );
  }

  onTestFileStart(test) {
    this.progress('start', test.path);
  }

  onTestResult(_test, result) {
    this.progress('end', result.testFilePath);
    this.sampleMemory();
    const { start, end } = result.perfStats;
    this.files.push({ file: path.relative(this.rootDir, result.testFilePath), ms: end - start });
  }

  onRunComplete(_contexts, results) {
    const {
      numPassedTests: passed,
      numFailedTests: failed,
      numPendingTests: skipped,
      numTodoTests: todo,
    } = results;
    const total = this.files.reduce((sum, f) => sum + f.ms, 0);
    if (this.files.length > 1) {
      const slowest = [...this.files].sort((a, b) => b.ms - a.ms).slice(0, SLOWEST);
      const lines = slowest.map((f) => `${(f.ms / 1000).toFixed(1).padStart(7)} s  ${f.file}`);
      process.stdout.write(
        `\nslowest files (of ${this.files.length}, ${(total / 1000).toFixed(0)} s in all):\n${lines.join('\n')}\n`,
      );
      const mb = (n) => `${Math.round(n / 2 ** 20)} MB`;
      const { first, last, peakRss, peakHeap } = this.memory;
      process.stdout.write(
        `jest's process: heap ${mb(first.heapUsed)} at the start, ${mb(last.heapUsed)} at the end ` +
          `(peak ${mb(peakHeap)}); RSS ${mb(first.rss)} → ${mb(last.rss)} (peak ${mb(peakRss)})\n`,
      );
    }
    const totals = { passed, failed, skipped: skipped + todo };
    if (process.env.WARDEN_TEST_TOTALS)
      return fs.writeFileSync(process.env.WARDEN_TEST_TOTALS, JSON.stringify(totals));
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${totals.skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
