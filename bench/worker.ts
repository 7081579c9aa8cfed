/**
 * A benchmark worker process: holds one contender's fixture and runs the commands the runner
 * (bench/run.ts) sends over IPC. Timing happens here, so IPC never counts in a figure.
 */
import { FixtureDriver } from './lib/driver';
import type { Command } from './lib/driver';

const driver = new FixtureDriver();

process.on('message', (message: { id: number; command: Command }) => {
  driver.handle(message.command).then(
    (reply) => process.send?.({ id: message.id, ok: true, reply }),
    (error: unknown) =>
      process.send?.({
        id: message.id,
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
});
process.on('disconnect', () => process.exit(0));
