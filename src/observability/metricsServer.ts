import type * as Http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentvisorError } from '../errors';
import { loadModule } from './lazyModule';
import { maskText } from './secretMasker';

/** What `serveMetrics` reads: an orchestrator created with `metrics: true`. */
export interface MetricsSource {
  metrics(): Promise<string>;
}

export interface MetricsServer {
  /** The port listened on (useful with port 0). */
  readonly port: number;
  /** `http://127.0.0.1:<port>/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/** Prometheus' text format, version 0.0.4 (what prom-client writes). */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Serves `GET /metrics` on 127.0.0.1 (never on other interfaces) until `close()`. Port 0 picks a
 * free port. Rejects with `invalid-option` when the port is taken or out of range.
 *
 * @example
 * const orch = createOrchestrator({ metrics: true });
 * const server = await serveMetrics(orch, 9464); // curl http://127.0.0.1:9464/metrics
 * await server.close();
 */
export async function serveMetrics(source: MetricsSource, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new AgentvisorError(
      'invalid-option',
      `the metrics port must be a whole number from 0 to 65535, got ${JSON.stringify(port)}`,
    );
  // node:http loads here, not with the CLI: `run` without --metrics-port never needs it (D48).
  const { createServer } = loadModule<typeof Http>('node:http');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    source.metrics().then(
      (text) => res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : text),
      (error: unknown) =>
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`${maskText(null, error instanceof Error ? error.message : 'metrics failed')}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new AgentvisorError(
          'invalid-option',
          `cannot serve metrics on ${host}:${port} (${error.code ?? error.message}); choose another --metrics-port`,
          { cause: error },
        ),
      );
    });
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://${host}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
