/**
 * A private redis-server for the Redis ledger tests: a child process (not daemonized) on a free
 * loopback port, with no persistence, killed in afterAll. `REDIS_URL` replaces it where a test
 * does not need to kill the server. redis-server missing is a test failure, never a skip: CI
 * installs it (.ci/run).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

const BINARY = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const MISSING =
  `redis-server was not found (tried ${JSON.stringify(BINARY)}): ` +
  'install it (apt-get install -y redis-server, brew install redis) or set REDIS_SERVER_BIN; ' +
  'set REDIS_URL to test against a running server. The Redis ledger tests do not skip.';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Kills the server with SIGKILL (no shutdown, no goodbye to clients) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: there is no persistence). */
  restart(): Promise<void>;
  /** Stops it for good (SIGKILL; nothing to save). */
  stop(): Promise<void>;
}

export interface TestRedis {
  readonly url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function launch(port: number, extraArgs: readonly string[]): Promise<ChildProcess> {
  const child = spawn(
    BINARY,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} did not start within 10 s: ${output.slice(-500)}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (/Ready to accept connections/i.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(error.code === 'ENOENT' ? MISSING : `redis-server could not start: ${error.message}`));
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} exited with ${code}: ${output.slice(-500)}`));
    });
  });
}

async function killChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** Starts a private redis-server; `password` adds `--requirepass` and puts it in the URL. */
export async function startRedisServer(options: { password?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const extra = options.password === undefined ? [] : ['--requirepass', options.password];
  let child: ChildProcess | null = await launch(port, extra);
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    url: `redis://${auth}127.0.0.1:${port}/0`,
    port,
    kill: async () => {
      await killChild(child);
      child = null;
    },
    restart: async () => {
      await killChild(child);
      child = await launch(port, extra);
    },
    stop: async () => {
      await killChild(child);
      child = null;
    },
  };
}

/** `REDIS_URL` when set (left running), otherwise a private server. */
export async function testRedis(): Promise<TestRedis> {
  const given = process.env.REDIS_URL;
  if (given !== undefined && given !== '') return { url: given, stop: async () => undefined };
  const server = await startRedisServer();
  return { url: server.url, stop: () => server.stop() };
}
