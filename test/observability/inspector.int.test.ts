import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import { createOrchestrator, isAgentvisorError } from '../../src';
import type { ManagedAgent } from '../../src';
import { buildProgram } from '../../src/cli/main';
import { attachInspector, serveInspectorRelay } from '../../src/observability';
import type { InspectorRelay } from '../../src/observability/inspectorRelay';
import { BOTH_KEYS_ENV, SECRET_FRAGMENTS, errorOf } from '../helpers/orchestratorFixtures';

interface Message {
  readonly type: string;
  readonly sessionId: string;
  readonly name?: string;
  readonly event?: { type: string };
  readonly snapshot?: { context?: Record<string, unknown> };
}

/** A local WebSocket server standing in for the relay: it keeps every message it receives. */
async function startReceiver(): Promise<{
  url: string;
  raw: string[];
  closed: Promise<void>;
  connected: Promise<void>;
  stop(): Promise<void>;
}> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const raw: string[] = [];
  let onClosed: () => void = () => undefined;
  let connections = 0;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  let onConnected: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  server.on('connection', (socket) => {
    connections += 1;
    onConnected();
    socket.on('message', (data: Buffer) => raw.push(data.toString('utf8')));
    // The first connection is attachInspector's probe; the inspector's own is the second.
    socket.on('close', () => {
      if (connections >= 2) onClosed();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    raw,
    closed,
    connected,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A scenario with three agents: admission, usage, a fallback, releases. */
async function runAgents(orch: ReturnType<typeof createOrchestrator>): Promise<ManagedAgent[]> {
  await orch.start();
  const agents = [
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a1', preferredProvider: 'claude' }),
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a2', preferredProvider: 'claude' }),
    await orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a3', preferredProvider: 'openai' }),
  ];
  agents[0]!.reportUsage({ inputTokens: 100, outputTokens: 20 });
  await agents[1]!.reportFailure({ status: 529, message: `overloaded (key ${BOTH_KEYS_ENV.ANTHROPIC_API_KEY})` });
  for (const agent of agents) await agent.release();
  await orch.stop();
  return agents;
}

const leaks = (texts: readonly string[]) => SECRET_FRAGMENTS.filter((f) => texts.some((t) => t.includes(f)));

describe('the Stately inspector over WebSocket', () => {
  it('should deliver @xstate.actor, @xstate.event and @xstate.snapshot for the coordinator and every session, with no secret', async () => {
    const receiver = await startReceiver();
    const attached = await attachInspector(receiver.url);
    const orch = createOrchestrator({ env: BOTH_KEYS_ENV, credentialSources: ['env'], inspect: attached.inspect });
    const agents = await runAgents(orch);
    await attached.stop();
    await receiver.closed;
    await receiver.stop();

    const messages = receiver.raw.map((m) => JSON.parse(m) as Message);
    const actors = messages.filter((m) => m.type === '@xstate.actor');
    const xstateIdOf = (name: string) => actors.find((a) => a.name === name)?.sessionId;
    const watched = ['coordinator', ...agents.map((a) => a.sessionId)];
    for (const name of watched) {
      const id = xstateIdOf(name);
      expect(id).toEqual(expect.any(String));
      const types = new Set(messages.filter((m) => m.sessionId === id).map((m) => m.type));
      expect([name, [...types].sort()]).toEqual([name, ['@xstate.actor', '@xstate.event', '@xstate.snapshot']]);
    }
    // The sessions' snapshots carry their context (our ids), credentials as [REDACTED].
    const sessionSnapshot = messages.find(
      (m) =>
        m.type === '@xstate.snapshot' &&
        m.sessionId === xstateIdOf(agents[0]!.sessionId) &&
        Object.keys(m.snapshot?.context?.secretEnv ?? {}).length > 0,
    );
    expect(sessionSnapshot?.snapshot?.context).toMatchObject({
      agentId: 'a1',
      secretEnv: { ANTHROPIC_API_KEY: '[REDACTED]', CLAUDE_API_KEY: '[REDACTED]' },
    });
    expect(messages.some((m) => m.type === '@xstate.event' && m.event?.type === 'agent.spawn')).toBe(true);
    expect(receiver.raw.length).toBeGreaterThan(50);
    expect(leaks(receiver.raw)).toEqual([]);
  });

  it('should take a createWebSocketInspector inspector itself as the inspect option', async () => {
    const receiver = await startReceiver();
    // Not through attachInspector: no probe, so the inspector's connection is the first one.
    const inspector = createWebSocketInspector({ url: receiver.url });
    // @statelyai/inspect keeps only the last 200 events until its socket opens and drops the rest on stop():
    // under load the coordinator's @xstate.actor would be shifted out before the connection (attachInspector waits).
    await receiver.connected;
    const orch = createOrchestrator({ env: BOTH_KEYS_ENV, credentialSources: ['env'], inspect: inspector });
    await runAgents(orch);
    for (let i = 0; i < 200 && !receiver.raw.some((m) => m.includes('"coordinator"')); i += 1)
      await new Promise((resolve) => setTimeout(resolve, 10));
    inspector.stop();
    await receiver.stop();
    const names = receiver.raw
      .map((m) => JSON.parse(m) as Message)
      .filter((m) => m.type === '@xstate.actor')
      .map((m) => m.name);
    expect(names).toContain('coordinator');
    expect(leaks(receiver.raw)).toEqual([]);
  });

  it('should relay through `agentvisor inspect --serve` (serveInspectorRelay) to a watching browser', async () => {
    const relay = await serveInspectorRelay({ port: 0, open: false });
    try {
      const url = relay.url;
      expect(url).toBe(`ws://localhost:${relay.address.port}`);
      const browser = new WebSocket(url);
      const seen: string[] = [];
      browser.on('message', (data: Buffer) => seen.push(data.toString('utf8')));
      await new Promise((resolve) => browser.once('open', resolve));
      const attached = await attachInspector(url);
      await runAgents(
        createOrchestrator({ env: BOTH_KEYS_ENV, credentialSources: ['env'], inspect: attached.inspect }),
      );
      await attached.stop();
      for (let i = 0; i < 200 && !seen.some((m) => m.includes('"@xstate.snapshot"')); i += 1)
        await new Promise((resolve) => setTimeout(resolve, 10));
      browser.close();
      expect(seen.map((m) => (JSON.parse(m) as Message).name).filter(Boolean)).toContain('coordinator');
      expect(leaks(seen)).toEqual([]);
    } finally {
      await relay.stop();
    }
  });

  it('should fail at once with invalid-option when nothing listens at the URL, or the URL is not ws://', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await errorOf(() => attachInspector(`ws://127.0.0.1:${port}`));
    expect(isAgentvisorError(error, 'invalid-option')).toBe(true);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).toContain('agentvisor inspect --serve');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(isAgentvisorError(await errorOf(() => attachInspector('http://localhost:8080')), 'invalid-option')).toBe(
      true,
    );
  });

  it('should let a command end at once beside a relay that stopped reading, not after the 30 s close handshake', async () => {
    // A hung relay: it accepts connections, then never reads again (so it never answers a close frame).
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    server.on('connection', (_socket, request) => request.socket.pause());
    try {
      const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const root = path.join(__dirname, '..', '..');
      const started = Date.now();
      const child = spawn(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', path.join(root, 'src', 'cli', 'main.ts'), '--inspect', url, 'demo'],
        { cwd: root, stdio: 'ignore', env: { ...process.env, TS_NODE_PROJECT: path.join(root, 'tsconfig.json') } },
      );
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(code).toBe(0);
      // ts-node's start and the demo take about 10 s here; a socket left waiting for the close handshake adds 30 s.
      expect(Date.now() - started).toBeLessThan(28_000);
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 90_000);

  it('should explain the steps with `agentvisor inspect`', async () => {
    const out: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      await buildProgram().parseAsync(['node', 'agentvisor', 'inspect', '--port', '9123']);
    } finally {
      write.mockRestore();
    }
    const text = out.join('');
    expect(text).toContain('agentvisor inspect --serve --port 9123');
    expect(text).toContain('agentvisor --inspect ws://localhost:9123 demo');
    expect(text).toContain('[REDACTED]');
  });
});

/** 'connected', or the errno of a refused TCP connection. */
function tcp(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

/** An IPv4 address of this machine that is not loopback, or null when it has none. */
function otherAddress(): string | null {
  const all = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
  return all.find((a) => a.family === 'IPv4' && !a.internal)?.address ?? null;
}

/** A browser's WebSocket to the relay, open, and the close code it will get. */
async function openBrowser(url: string): Promise<{ socket: WebSocket; closeCode: Promise<number> }> {
  const socket = new WebSocket(url, { origin: url.replace(/^ws/, 'http') });
  const closeCode = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, closeCode };
}

/** Loads the page over a keep-alive connection, left open afterwards (as a browser does). */
function loadPage(page: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(page, { agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      })
      .on('error', reject);
  });
}

describe('the inspector relay: loopback unless told otherwise, and a clean stop', () => {
  const relays: InspectorRelay[] = [];
  const children: ChildProcess[] = [];
  const agents: http.Agent[] = [];

  afterEach(async () => {
    for (const relay of relays.splice(0)) await relay.stop();
    for (const agent of agents.splice(0)) agent.destroy();
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it("should listen on 127.0.0.1 by default, refuse the machine's other addresses, and listen where --host / host says", async () => {
    const relay = await serveInspectorRelay({ port: 0, open: false });
    relays.push(relay);
    const { port } = relay.address;
    expect(relay.address).toEqual({ address: '127.0.0.1', family: 'IPv4', port: expect.any(Number) });
    expect(await tcp('127.0.0.1', port)).toBe('connected');
    expect(await tcp('::1', port)).not.toBe('connected');
    const other = otherAddress();
    if (other !== null) expect(await tcp(other, port)).toBe('ECONNREFUSED');

    const wide = await serveInspectorRelay({ port: 0, host: other ?? '0.0.0.0', open: false });
    relays.push(wide);
    expect(wide.address.address).toBe(other ?? '0.0.0.0');
    if (other !== null) {
      expect(wide.url).toBe(`ws://${other}:${wide.address.port}`);
      const browser = await openBrowser(wide.url);
      browser.socket.close();
    }
  });

  it('should refuse a taken port or an address this machine does not have with invalid-option', async () => {
    const relay = await serveInspectorRelay({ port: 0, open: false });
    relays.push(relay);
    const taken = await errorOf(() => serveInspectorRelay({ port: relay.address.port, open: false }));
    expect(isAgentvisorError(taken, 'invalid-option') && taken.details).toEqual({ field: 'port', errno: 'EADDRINUSE' });
    expect((taken as Error).message).toContain('choose another with --port');
    // 203.0.113.0/24 is TEST-NET-3: no machine has it.
    const foreign = await errorOf(() => serveInspectorRelay({ port: 0, host: '203.0.113.7', open: false }));
    expect(isAgentvisorError(foreign, 'invalid-option') && foreign.details).toMatchObject({
      field: 'host',
      errno: 'EADDRNOTAVAIL',
    });
  });

  it("should serve the page, refuse other sites' pages, and on stop() close every connection and the port", async () => {
    const relay = await serveInspectorRelay({ port: 0, open: false });
    relays.push(relay);
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    const page = await loadPage(relay.page, agent);
    expect(page.status).toBe(200);
    expect(page.body).toContain('src="https://stately.ai/inspect"');
    expect(page.body).toContain("new WebSocket('ws://' + location.host)");
    const browser = await openBrowser(relay.url);
    const program = await attachInspector(relay.url);
    const evil = new WebSocket(relay.url, { origin: 'http://evil.example' });
    evil.on('error', () => undefined);
    const evilStatus = await new Promise<number>((resolve) =>
      evil.once('unexpected-response', (_req, res: http.IncomingMessage) => resolve(res.statusCode ?? 0)),
    );
    expect(evilStatus).toBe(401);
    evil.terminate();

    const started = Date.now();
    await relay.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await browser.closeCode).toBe(1001);
    expect(await tcp('127.0.0.1', relay.address.port)).toBe('ECONNREFUSED');
    await relay.stop();
    await program.stop();
  });

  const root = path.join(__dirname, '..', '..');
  /** `agentvisor --json inspect --serve --port 0 --no-open`, as a process of its own. */
  function serveCli(): {
    child: ChildProcess;
    facts: Promise<{ relay: string; port: number; host: string; serving: boolean }>;
    exited: Promise<{ code: number | null; signal: string | null }>;
    stderr: () => string;
  } {
    const child = spawn(
      process.execPath,
      [
        '-r',
        require.resolve('ts-node/register/transpile-only'),
        path.join(root, 'src', 'cli', 'main.ts'),
        '--json',
        'inspect',
        '--serve',
        '--port',
        '0',
        '--no-open',
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? os.tmpdir(),
          TS_NODE_PROJECT: path.join(root, 'tsconfig.json'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let out = '';
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const facts = new Promise<{ relay: string; port: number; host: string; serving: boolean }>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('\n'))
          resolve(JSON.parse(out.split('\n')[0]!) as { relay: string; port: number; host: string; serving: boolean });
      });
      child.once('exit', () => reject(new Error(`inspect --serve ended before it listened: ${err}`)));
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    return { child, facts, exited, stderr: () => err };
  }

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    'should end `agentvisor inspect --serve` on %s: connections closed, port free, exit 0 on its own',
    async (signal) => {
      const run = serveCli();
      const facts = await run.facts;
      expect(facts).toMatchObject({ serving: true, host: '127.0.0.1', relay: `ws://localhost:${facts.port}` });
      const browser = await openBrowser(facts.relay);
      const agent = new http.Agent({ keepAlive: true });
      agents.push(agent);
      expect((await loadPage(`http://127.0.0.1:${facts.port}/`, agent)).status).toBe(200);

      const sent = Date.now();
      run.child.kill(signal);
      // No process.exit in the command: it ends because the relay left nothing behind.
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - sent).toBeLessThan(5_000);
      expect(await browser.closeCode).toBe(1001);
      expect(await tcp('127.0.0.1', facts.port)).toBe('ECONNREFUSED');
      expect(run.stderr()).toContain(`Inspector relay stopped (${signal === 'SIGINT' ? 'Ctrl-C' : signal})`);
    },
  );
});

describe('the inspector relay from the package root', () => {
  it('should export serveInspectorRelay without loading ws or @statelyai/inspect until a relay starts', () => {
    const script = `
      const heavy = () => Object.keys(require.cache).filter((file) => /node_modules[\\/](ws|@statelyai)[\\/]/.test(file)).length;
      const root = require('./src/index.ts');
      const atImport = heavy();
      root.serveInspectorRelay({ port: 0, open: false }).then(async (relay) => {
        const started = heavy();
        await relay.stop();
        console.log(JSON.stringify({ type: typeof root.serveInspectorRelay, atImport, started, url: relay.url }));
      });`;
    const result = spawnSync(
      process.execPath,
      ['-r', require.resolve('ts-node/register/transpile-only'), '-e', script],
      {
        cwd: path.join(__dirname, '..', '..'),
        encoding: 'utf8',
        env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, '..', '..', 'tsconfig.json') },
        timeout: 60_000,
      },
    );
    expect(result.stderr).toBe('');
    const facts = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as {
      type: string;
      atImport: number;
      started: number;
      url: string;
    };
    expect(facts).toMatchObject({ type: 'function', atImport: 0 });
    expect(facts.started).toBeGreaterThan(0);
    expect(facts.url).toMatch(/^ws:\/\/localhost:\d+$/);
  });
});
