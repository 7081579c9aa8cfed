/**
 * One process of `npm run bench:ledger`: prepares the load of argv[2] (a LoadSpec without its
 * start time), prints `ready`, reads the start time (epoch ms) from stdin, runs, prints the count.
 */
import { prepareLoad } from './lib/ledgerLoad';
import type { LoadSpec } from './lib/ledgerLoad';

async function main(): Promise<void> {
  const run = await prepareLoad(JSON.parse(process.argv[2] ?? '{}') as LoadSpec);
  process.stdout.write('ready\n');
  const startAt = await new Promise<number>((resolve) => process.stdin.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
  process.stdout.write(`${await run(startAt)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
