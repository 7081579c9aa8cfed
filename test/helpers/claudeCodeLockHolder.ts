/**
 * Child process that plays Claude Code 2.1 refreshing its login: it takes Claude Code's refresh lock
 * exactly as the real CLI does (proper-lockfile on the credentials folder with lockfilePath
 * `<dir>/.oauth_refresh.lock`, then the legacy `<realpath(dir)>.lock`; realpath false, stale 10 s),
 * independently of agentvisor's code. Run with `node -r ts-node/register/transpile-only`.
 * Arguments: the credentials folder, and `both`, `legacy` (only the legacy lock, as older versions) or
 * `write` (only its write lock `<dir>/.storage-write.lock`, as while it saves its credentials).
 * Prints `locked` once it holds them. Then one stdin line: `{"accessToken","refreshToken","expiresAt"}`
 * writes those tokens into `.credentials.json` as Claude Code does (under `<dir>/.storage-write`,
 * other keys kept, temp file and rename, 0600) before releasing; `release` only releases. Prints
 * `released` and exits 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import lockfile from 'proper-lockfile';

const REFRESH = { realpath: false, stale: 10_000, onCompromised: () => undefined } as const;

async function main(): Promise<void> {
  const [dir, mode] = process.argv.slice(2);
  if (dir === undefined || (mode !== 'both' && mode !== 'legacy' && mode !== 'write'))
    throw new Error('usage: claudeCodeLockHolder <dir> both|legacy|write');
  const releases: Array<() => Promise<void>> = [];
  if (mode === 'write') {
    releases.push(
      await lockfile.lock(path.join(dir, '.storage-write'), {
        realpath: false,
        stale: 15_000,
        onCompromised: () => undefined,
      }),
    );
  } else {
    if (mode === 'both')
      releases.push(await lockfile.lock(dir, { ...REFRESH, lockfilePath: path.join(dir, '.oauth_refresh.lock') }));
    const legacy = `${fs.realpathSync(dir)}.lock`;
    releases.push(await lockfile.lock(legacy, { ...REFRESH, lockfilePath: legacy }));
  }
  process.stdout.write('locked\n');

  const line = await new Promise<string>((resolve) =>
    readline.createInterface({ input: process.stdin }).once('line', resolve),
  );
  if (line.trim() !== 'release') {
    const tokens = JSON.parse(line) as { accessToken: string; refreshToken: string; expiresAt: number };
    const release = await lockfile.lock(path.join(dir, '.storage-write'), {
      realpath: false,
      stale: 15_000,
      retries: { retries: 10, minTimeout: 100, maxTimeout: 1000 },
    });
    const file = path.join(dir, '.credentials.json');
    const current = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, unknown> | undefined>;
    const next = { ...current, claudeAiOauth: { ...current.claudeAiOauth, ...tokens } };
    const temp = `${file}.tmp.${process.pid}`;
    fs.writeFileSync(temp, JSON.stringify(next), { mode: 0o600 });
    fs.renameSync(temp, file);
    await release();
  }
  for (const release of releases.reverse()) await release();
  process.stdout.write('released\n');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
