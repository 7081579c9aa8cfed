/**
 * The Redis server `npm run bench:ledger` measures against: `REDIS_URL` when set, else a private
 * `redis-server` (no persistence, loopback, a free port) that is stopped at the end.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';

export interface BenchRedis {
  readonly url: string;
  /** Deletes every key under `prefix` (what one run wrote). */
  clear(prefix: string): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function benchRedis(): Promise<BenchRedis> {
  let stop = async (): Promise<void> => undefined;
  let url = process.env.REDIS_URL ?? '';
  if (url === '') {
    const port = await freePort();
    const child = spawn(
      process.env.REDIS_SERVER_BIN ?? 'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.on('error', (error) =>
        reject(new Error(`redis-server could not start (${error.message}): install it or set REDIS_URL`)),
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (/Ready to accept connections/i.test(output)) resolve();
      });
    });
    child.stdout!.resume();
    child.stderr!.resume();
    url = `redis://127.0.0.1:${port}/0`;
    stop = async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    };
  }
  const admin = new Redis(url);
  return {
    url,
    clear: async (prefix) => {
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await admin.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    },
    stop: async () => {
      await admin.quit();
      await stop();
    },
  };
}
