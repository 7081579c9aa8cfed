/**
 * Child process for the OAuth refresher's multi-process test. Run with
 * `node -r ts-node/register/transpile-only`. Arguments: file, home, tokenEndpoint, barrier folder.
 * Writes `<barrier>/ready-<pid>`, waits for `<barrier>/go`, calls getAccessToken once and prints one
 * JSON line: the sha256 of the access token (never the token) and whether this process refreshed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { claudeAuthTokens, createTokenRefresher } from '../../src/oauth';

async function main(): Promise<void> {
  const [file, home, tokenEndpoint, barrier] = process.argv.slice(2);
  if (file === undefined || home === undefined || tokenEndpoint === undefined || barrier === undefined) {
    throw new Error('usage: oauthRefreshWorker <file> <home> <tokenEndpoint> <barrier>');
  }
  const refresher = createTokenRefresher({
    file,
    home,
    ...claudeAuthTokens,
    tokenEndpoint,
    clientId: 'test-client',
    lockTimeoutMs: 30_000,
  });
  fs.writeFileSync(path.join(barrier, `ready-${process.pid}`), '');
  while (!fs.existsSync(path.join(barrier, 'go'))) await new Promise((resolve) => setTimeout(resolve, 2));
  const result = await refresher.getAccessToken();
  const sha256 = createHash('sha256').update(result.accessToken.reveal()).digest('hex');
  process.stdout.write(`${JSON.stringify({ sha256, refreshed: result.refreshed })}\n`);
}

main().catch((error: unknown) => {
  const code =
    typeof error === 'object' && error !== null && 'code' in error
      ? String((error as { code: unknown }).code)
      : 'unknown';
  process.stderr.write(`failed: ${code}\n`);
  process.exit(1);
});
