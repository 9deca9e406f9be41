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
  }

  progress(what, file) {
    if (!process.env.WARDEN_TEST_PROGRESS) return;
    const rel = path.relative(this.rootDir, file);
    fs.appendFileSync(process.env.WARDEN_TEST_PROGRESS, `${new Date().toISOString()} ${what} ${rel}\n`);
  }

  onTestFileStart(test) {
    this.progress('start', test.path);
  }

  onTestResult(_test, result) {
    this.progress('end', result.testFilePath);
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
    }
    const totals = { passed, failed, skipped: skipped + todo };
    if (process.env.WARDEN_TEST_TOTALS)
      return fs.writeFileSync(process.env.WARDEN_TEST_TOTALS, JSON.stringify(totals));
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${totals.skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
