'use strict';
/**
 * Prints one plain closing line after Jest's own summary, `tests: N passed, N failed, N skipped`,
 * which CI systems and people read without knowing Jest's format.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(
      `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
    );
  }
}
module.exports = SummaryReporter;
