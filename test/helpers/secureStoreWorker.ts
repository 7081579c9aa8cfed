/**
 * Child process for the secure store's concurrency test: increments `counter` in a shared file
 * `times` times through updateJsonFile. Run with `node -r ts-node/register/transpile-only`.
 * Arguments: file, home, times.
 */
import { updateJsonFile } from '../../src/storage/secureStore';

async function main(): Promise<void> {
  const [file, home, times] = process.argv.slice(2);
  if (file === undefined || home === undefined || times === undefined)
    throw new Error('usage: secureStoreWorker <file> <home> <times>');
  for (let i = 0; i < Number(times); i += 1) {
    await updateJsonFile(
      file,
      (current) => {
        const counter = typeof current?.counter === 'number' ? current.counter : 0;
        return { ...current, counter: counter + 1, [`pid_${process.pid}`]: i + 1 };
      },
      { home, lockTimeoutMs: 30_000 },
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
