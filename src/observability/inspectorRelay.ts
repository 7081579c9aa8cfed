import { spawn } from 'node:child_process';
import type * as Http from 'node:http';
import net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type * as Ws from 'ws';
import { AgentvisorError } from '../errors';
import { loadModule } from './lazyModule';

/** The relay's default port (@statelyai/inspect's). */
export const DEFAULT_INSPECTOR_PORT = 8080;
/** The relay's default address: this machine only. */
export const DEFAULT_INSPECTOR_HOST = '127.0.0.1';

const STATELY_INSPECTOR = 'https://stately.ai/inspect';
/** Events kept for a browser that connects late (@statelyai/inspect's relay keeps as many). */
const KEPT_EVENTS = 200;
/** How long connected sockets get to answer the relay's close frame before they are cut. */
const CLOSE_GRACE_MS = 500;

/**
 * The host as it goes into a URL: the loopback and wildcard addresses as `localhost` (what a browser
 * on this machine opens), IPv6 in brackets.
 *
 * @example relayUrls('127.0.0.1', 8080) // { relay: 'ws://localhost:8080', page: 'http://localhost:8080' }
 */
export function relayUrls(host: string, port: number): { relay: string; page: string } {
  const shown = ['127.0.0.1', '0.0.0.0', '::', 'localhost'].includes(host)
    ? 'localhost'
    : net.isIPv6(host)
      ? `[${host}]`
      : host;
  return { relay: `ws://${shown}:${port}`, page: `http://${shown}:${port}` };
}

/**
 * What `agentvisor inspect` prints: how to watch the coordinator and every agent session in the
 * Stately inspector.
 *
 * @example process.stdout.write(inspectInstructions(8080).join('\n'))
 */
export function inspectInstructions(
  port: number = DEFAULT_INSPECTOR_PORT,
  host: string = DEFAULT_INSPECTOR_HOST,
): string[] {
  const { relay, page } = relayUrls(host, port);
  const hostFlag = host === DEFAULT_INSPECTOR_HOST ? '' : ` --host ${host}`;
  return [
    'Watch agentvisor in the Stately inspector (state machines and the events between them, live):',
    '',
    `  1. Start the relay in one terminal:   agentvisor inspect --serve --port ${port}${hostFlag}`,
    `     It listens on ${relay} (${host === DEFAULT_INSPECTOR_HOST ? 'this machine only; --host <address> to listen elsewhere' : `address ${host}`}) ` +
      `and opens ${page}`,
    '     in your browser, which embeds the Stately inspector (https://stately.ai/inspect; the page needs',
    '     the internet). Add --no-open to open the page yourself.',
    `  2. Run agents in another terminal:    agentvisor --inspect ${relay} demo --agents 6`,
    '     (run and batch take --inspect too). The coordinator, the session supervisor and one',
    '     session per agent appear as actors; click one to see its state and the events it got.',
    '  3. Stop the relay with Ctrl-C (or SIGTERM) when done.',
    '',
    'Every event and snapshot is sanitized before it leaves agentvisor: keys and tokens show as',
    `[REDACTED]. The relay keeps the last ${KEPT_EVENTS} events for a browser that connects late.`,
    'From code: createOrchestrator({ inspect: (await attachInspector(url)).inspect }), or pass any',
    '@statelyai/inspect inspector as `inspect`. More in docs/observability.md.',
  ];
}

/** The bridge page: the Stately inspector in a frame, fed from this relay's own address. */
function bridgePage(): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>agentvisor: Stately inspector</title>
<style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head><body><iframe id="inspector" src="${STATELY_INSPECTOR}"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  const buffer = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      for (const event of buffer.splice(0)) iframe.contentWindow.postMessage(event, '*');
    }
  });
  const ws = new WebSocket('ws://' + location.host);
  ws.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (connected) iframe.contentWindow.postMessage(data, '*');
    else buffer.push(data);
  };
</script></body></html>
`;
}

function openInBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  // No shell: the URL is one argument. A missing opener only means the user opens the page by hand.
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

export interface InspectorRelayOptions {
  /** The port; 0 picks a free one (see `address.port`). @default 8080 */
  readonly port?: number;
  /** The address to listen on; `0.0.0.0` or `::` for every interface. @default '127.0.0.1' */
  readonly host?: string;
  /** Open the inspector page in the default browser once listening. @default true */
  readonly open?: boolean;
}

export interface InspectorRelay {
  /** Where the relay listens, as its server reports it (`address`, `family`, `port`). */
  readonly address: AddressInfo;
  /** The URL to give `--inspect` or `attachInspector`. */
  readonly url: string;
  /** The inspector page. */
  readonly page: string;
  /** Closes every connection (browsers get close code 1001) and the server; resolves once the port is closed. Idempotent. */
  stop(): Promise<void>;
}

function listenFailure(error: unknown, host: string, port: number): AgentvisorError {
  const errno =
    typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
      ? (error as { code: string }).code
      : 'unknown';
  const taken = errno === 'EADDRINUSE' || errno === 'EACCES';
  return new AgentvisorError(
    'invalid-option',
    taken
      ? `port ${port} on ${host} is not free (${errno}); choose another with --port`
      : `cannot listen on ${host} (${errno}); give an address of this machine with --host`,
    { details: { field: taken ? 'port' : 'host', errno } },
  );
}

/**
 * Starts the relay between agentvisor and the Stately inspector (what `agentvisor inspect --serve`
 * runs): a WebSocket server that forwards each inspection event to every other connection (the
 * browser page it serves at `/`), keeping the last 200 for a page that connects late. It listens
 * on 127.0.0.1 unless `host` says otherwise, refuses browser connections from other sites' pages
 * (their `Origin` is not the page's own), and `stop()` ends every connection so the process can exit.
 * Rejects with `invalid-option` when the port is taken or the host is not an address of this machine.
 *
 * @default port 8080, host '127.0.0.1', open true
 * @example
 * const relay = await serveInspectorRelay({ port: 0, open: false });
 * const attached = await attachInspector(relay.url);
 * // … run agents with inspect: attached.inspect …
 * await attached.stop();
 * await relay.stop();
 */
export async function serveInspectorRelay(options: InspectorRelayOptions = {}): Promise<InspectorRelay> {
  const port = options.port ?? DEFAULT_INSPECTOR_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new AgentvisorError(
      'invalid-option',
      `port must be a whole number from 0 to 65535, got ${JSON.stringify(port)}`,
      { details: { field: 'port' } },
    );
  const host = options.host ?? DEFAULT_INSPECTOR_HOST;
  if (typeof host !== 'string' || !/^[^\s/]+$/.test(host))
    throw new AgentvisorError(
      'invalid-option',
      `host must be an address such as 127.0.0.1 or 0.0.0.0, got ${JSON.stringify(host)?.slice(0, 80)}`,
      { details: { field: 'host' } },
    );
  const { WebSocket, WebSocketServer } = loadModule<typeof Ws>('ws');

  const sockets = new Set<Socket>();
  const { createServer } = loadModule<typeof Http>('node:http');
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://relay').pathname;
    if (path !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: the inspector page is /\n');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(req.method === 'HEAD' ? undefined : bridgePage());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({
    server,
    // Programs (no Origin) and the page this relay serves may connect; another site's page may not.
    verifyClient: ({ origin, req }: { origin: string | undefined; req: Http.IncomingMessage }) =>
      origin === undefined || origin === `http://${req.headers.host ?? ''}`,
  });
  // The server's own errors reach the listen below; this keeps ws' re-emitted copy from crashing.
  wss.on('error', () => undefined);
  const kept: string[] = [];
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    for (const message of kept) ws.send(message);
    ws.on('message', (data: Buffer) => {
      const message = data.toString('utf8');
      kept.push(message);
      if (kept.length > KEPT_EVENTS) kept.shift();
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(message);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      wss.close();
      reject(listenFailure(error, host, port));
    });
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const { relay: url, page } = relayUrls(host, address.port);
  if (options.open ?? true) openInBrowser(page);

  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    wss.close();
    for (const client of wss.clients) client.close(1001, 'agentvisor inspector relay stopped');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_GRACE_MS);
      const check = (): void => {
        if (wss.clients.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      for (const client of wss.clients) client.once('close', check);
      check();
    });
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive page loads and sockets that never answered: the server closes only when they are gone.
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    });
  };
  return {
    address,
    url,
    page,
    stop: () => (stopping ??= stop()),
  };
}
