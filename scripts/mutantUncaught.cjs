// Preloaded (NODE_OPTIONS --require) into the Stryker processes of a group run (scripts/mutateGroups.mjs).
// XState rethrows an actor's error in a timer when nothing subscribed to it, so a mutant that makes a guard or
// action throw after a test ended killed Stryker's jest worker: Stryker then restarted it and retried the mutant
// three times (~30 s) before calling it a runtime error, left out of the score. With this listener the worker
// lives on and the mutant is judged by the tests: jest-circus puts its own listener in place during each test,
// so an error thrown while a test runs still fails that test; one thrown after it is only printed here.
process.on('uncaughtException', (error) => {
  process.stderr.write(
    `[mutantUncaught] an error outside any test: ${error instanceof Error ? error.message : error}\n`,
  );
});
