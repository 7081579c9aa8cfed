/**
 * Child process for the audit trail's multi-process tests. Run with
 * `node -r ts-node/register/transpile-only`. Arguments: home, tag, count, maxBytes, keep, batch.
 * Records `count` entries (reason `<tag>-<i>`) through an AuditTrail that flushes every `batch` entries,
 * closes it and prints one JSON line: the codes of the write errors its onError received.
 * It starts once `<home>/go` exists, after creating `<home>/ready-<tag>`, so that workers write at the same time.
 * SIGXFSZ is ignored, so a file size limit (`ulimit -f`) ends writes with EFBIG like a full disk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AuditTrail, resolveAuditOptions } from '../../src/observability';

process.on('SIGXFSZ', () => undefined);

async function main(): Promise<void> {
  const [home, tag, count, maxBytes, keep, batch] = process.argv.slice(2);
  if ([home, tag, count, maxBytes, keep, batch].includes(undefined))
    throw new Error('usage: auditWriterWorker <home> <tag> <count> <maxBytes> <keep> <batch>');
  fs.writeFileSync(path.join(home!, `ready-${tag!}`), '');
  while (!fs.existsSync(path.join(home!, 'go'))) await new Promise((resolve) => setTimeout(resolve, 2));
  const errors: string[] = [];
  const trail = new AuditTrail(resolveAuditOptions({ maxBytes: Number(maxBytes), keep: Number(keep) }, home!)!, {
    onError: (error) => errors.push(String((error as { code?: unknown }).code ?? (error as Error).message)),
  });
  for (let i = 0; i < Number(count); i += 1) {
    trail.record({ event: 'auth.login', provider: 'claude', reason: `${tag}-${i}` });
    if ((i + 1) % Number(batch) === 0) await trail.flush();
  }
  await trail.close();
  process.stdout.write(`${JSON.stringify({ errors })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
