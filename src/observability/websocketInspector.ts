import type * as StatelyInspect from '@statelyai/inspect';
import type { InspectionEvent, Observer } from 'xstate';
import type * as Ws from 'ws';
import { AgentvisorError } from '../errors';
import { loadModule } from './lazyModule';

export interface AttachInspectorOptions {
  /** How long to wait for the relay to accept a connection. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** Events kept while the inspector's socket connects (the oldest are dropped beyond). @default 10000 */
  readonly maxDeferredEvents?: number;
}

export interface AttachedInspector {
  /** The observer to give the orchestrator (`inspect` option); the orchestrator sanitizes what it receives. */
  readonly inspect: Observer<InspectionEvent>;
  /**
   * The @statelyai/inspect inspector (its `Inspector<WebSocketAdapter>`), typed by the parts callers
   * use: that package ships ESM-only declarations, kept out of agentvisor's own.
   */
  readonly inspector: { readonly inspect: Observer<InspectionEvent>; start(): void; stop(): void };
  /** Sends what is still pending (up to 2 s), then disconnects (a relay that does not answer within 0.5 s is cut off). */
  stop(): Promise<void>;
}

/** The adapter's fields we wait on; @statelyai/inspect declares them private. */
interface AdapterInternals {
  ws?: { readyState: number; bufferedAmount: number; terminate(): void };
}

/** WebSocket readyState CONNECTING. */
const WS_CONNECTING = 0;
const WS_CLOSED = 3;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects unless something accepts a WebSocket connection at `url` within the timeout. */
async function probe(url: string, timeoutMs: number): Promise<void> {
  const { WebSocket } = loadModule<typeof Ws>('ws');
  await new Promise<void>((resolve, reject) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('open', () => {
      clearTimeout(timer);
      socket.close();
      // A relay that does not answer the close frame is cut off, not waited for 30 s.
      setTimeout(() => socket.terminate(), 500).unref();
      resolve();
    });
    socket.once('error', (error: Error & { code?: string }) => {
      clearTimeout(timer);
      reject(new Error(error.code ?? error.message));
    });
  }).catch((error: unknown) => {
    throw new AgentvisorError(
      'invalid-option',
      `nothing accepts inspector connections at ${url} (${(error as Error).message}): ` +
        `start the relay first with \`agentvisor inspect --serve\` (see \`agentvisor inspect\`)`,
    );
  });
}

/**
 * Connects @statelyai/inspect's `createWebSocketInspector({ url })` to a relay (such as the one
 * `agentvisor inspect --serve` starts, which shows the Stately inspector in a browser). Checks
 * first that the relay answers, so a wrong URL fails at once instead of retrying in the background.
 *
 * @example
 * const attached = await attachInspector('ws://localhost:8080');
 * const orch = createOrchestrator({ inspect: attached.inspect });
 * // … run agents …
 * await orch.stop();
 * await attached.stop();
 */
export async function attachInspector(url: string, options: AttachInspectorOptions = {}): Promise<AttachedInspector> {
  if (!/^wss?:\/\/[^\s]+$/.test(url))
    throw new AgentvisorError(
      'invalid-option',
      `the inspector URL must be a ws:// or wss:// URL such as ws://localhost:8080, got ${JSON.stringify(url).slice(0, 80)}`,
    );
  await probe(url, options.connectTimeoutMs ?? 5000);
  const { createWebSocketInspector } = loadModule<typeof StatelyInspect>('@statelyai/inspect');
  const inspector = createWebSocketInspector({ url, maxDeferredEvents: options.maxDeferredEvents ?? 10_000 });
  const adapter = inspector.adapter as unknown as AdapterInternals;
  return {
    inspect: inspector.inspect,
    inspector,
    async stop() {
      // The inspector converts events in a timer (setTimeout 0): let the last ones through.
      await sleep(5);
      // Events sent before the socket opened are replayed on open: give a socket still connecting a
      // moment to open (one the relay closed, e.g. a stopped relay, is not waited for).
      for (let waited = 0; adapter.ws?.readyState === WS_CONNECTING && waited < 2000; waited += 20) await sleep(20);
      for (let waited = 0; (adapter.ws?.bufferedAmount ?? 0) > 0 && waited < 2000; waited += 10) await sleep(10);
      inspector.stop();
      // A relay that never answers the close frame (hung, or no longer reading) would hold the socket,
      // and the process with it, for ws's 30 s close timeout: half a second, then the socket is cut.
      const socket = adapter.ws;
      for (let waited = 0; socket && socket.readyState !== WS_CLOSED && waited < 500; waited += 10) await sleep(10);
      if (socket && socket.readyState !== WS_CLOSED) socket.terminate();
    },
  };
}
