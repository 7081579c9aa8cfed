import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import { createOrchestrator, isAgentvisorError } from '../../src';
import type { ManagedAgent } from '../../src';
import { buildProgram } from '../../src/cli/main';
import { attachInspector, serveInspectorRelay } from '../../src/observability';
import { BOTH_KEYS_ENV, SECRET_FRAGMENTS, errorOf } from '../helpers/orchestratorFixtures';

interface Message {
  readonly type: string;
  readonly sessionId: string;
  readonly name?: string;
  readonly event?: { type: string };
  readonly snapshot?: { context?: Record<string, unknown> };
}

/** A local WebSocket server standing in for the relay: it keeps every message it receives. */
async function startReceiver(): Promise<{ url: string; raw: string[]; closed: Promise<void>; stop(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const raw: string[] = [];
  let onClosed: () => void = () => undefined;
  let connections = 0;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  server.on('connection', (socket) => {
    connections += 1;
    socket.on('message', (data: Buffer) => raw.push(data.toString('utf8')));
    // The first connection is attachInspector's probe; the inspector's own is the second.
    socket.on('close', () => {
      if (connections >= 2) onClosed();
    });
  });
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}`, raw, closed, stop: () => new Promise((resolve) => server.close(() => resolve())) };
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
    const sessionSnapshot = messages.find((m) => m.type === '@xstate.snapshot' && m.sessionId === xstateIdOf(agents[0]!.sessionId) && Object.keys(m.snapshot?.context?.secretEnv ?? {}).length > 0);
    expect(sessionSnapshot?.snapshot?.context).toMatchObject({ agentId: 'a1', secretEnv: { ANTHROPIC_API_KEY: '[REDACTED]', CLAUDE_API_KEY: '[REDACTED]' } });
    expect(messages.some((m) => m.type === '@xstate.event' && m.event?.type === 'agent.spawn')).toBe(true);
    expect(receiver.raw.length).toBeGreaterThan(50);
    expect(leaks(receiver.raw)).toEqual([]);
  });

  it('should take a createWebSocketInspector inspector itself as the inspect option', async () => {
    const receiver = await startReceiver();
    // Not through attachInspector: no probe, so the inspector's connection is the first one.
    const inspector = createWebSocketInspector({ url: receiver.url });
    const orch = createOrchestrator({ env: BOTH_KEYS_ENV, credentialSources: ['env'], inspect: inspector });
    await runAgents(orch);
    await new Promise((resolve) => setTimeout(resolve, 50));
    inspector.stop();
    for (let i = 0; i < 100 && !receiver.raw.some((m) => m.includes('"coordinator"')); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await receiver.stop();
    const names = receiver.raw.map((m) => JSON.parse(m) as Message).filter((m) => m.type === '@xstate.actor').map((m) => m.name);
    expect(names).toContain('coordinator');
    expect(leaks(receiver.raw)).toEqual([]);
  });

  it('should relay through `agentvisor inspect --serve` (serveInspectorRelay) to a watching browser', async () => {
    const port = await freePort();
    const relay = serveInspectorRelay({ port, open: false });
    try {
      const url = `ws://localhost:${port}`;
      for (let i = 0; i < 50; i += 1) {
        if (await attachInspector(url, { connectTimeoutMs: 200 }).then((a) => a.stop().then(() => true), () => false)) break;
      }
      const browser = new WebSocket(url);
      const seen: string[] = [];
      browser.on('message', (data: Buffer) => seen.push(data.toString('utf8')));
      await new Promise((resolve) => browser.once('open', resolve));
      const attached = await attachInspector(url);
      await runAgents(createOrchestrator({ env: BOTH_KEYS_ENV, credentialSources: ['env'], inspect: attached.inspect }));
      await attached.stop();
      for (let i = 0; i < 200 && !seen.some((m) => m.includes('"@xstate.snapshot"')); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      browser.close();
      expect(seen.map((m) => (JSON.parse(m) as Message).name).filter(Boolean)).toContain('coordinator');
      expect(leaks(seen)).toEqual([]);
    } finally {
      relay.stop();
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
    expect(isAgentvisorError(await errorOf(() => attachInspector('http://localhost:8080')), 'invalid-option')).toBe(true);
  });

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
