import type * as InspectServer from '@statelyai/inspect/server';
import { loadModule } from './lazyModule';

/** The relay's default port (@statelyai/inspect's). */
export const DEFAULT_INSPECTOR_PORT = 8080;

/**
 * What `agentvisor inspect` prints: how to watch the coordinator and every agent session in the
 * Stately inspector.
 *
 * @example process.stdout.write(inspectInstructions(8080).join('\n'))
 */
export function inspectInstructions(port: number = DEFAULT_INSPECTOR_PORT): string[] {
  const url = `ws://localhost:${port}`;
  return [
    'Watch agentvisor in the Stately inspector (state machines and the events between them, live):',
    '',
    `  1. Start the relay in one terminal:   agentvisor inspect --serve --port ${port}`,
    `     It listens on ${url} and opens http://localhost:${port} in your browser, which embeds`,
    '     the Stately inspector (https://stately.ai/inspect; the page needs the internet). Add --no-open',
    '     to open the page yourself.',
    `  2. Run agents in another terminal:    agentvisor --inspect ${url} demo --agents 6`,
    '     (run and batch take --inspect too). The coordinator, the session supervisor and one',
    '     session per agent appear as actors; click one to see its state and the events it got.',
    '  3. Stop the relay with Ctrl-C when done.',
    '',
    'Every event and snapshot is sanitized before it leaves agentvisor: keys and tokens show as',
    '[REDACTED]. The relay keeps the last 200 events for a browser that connects late.',
    'From code: createOrchestrator({ inspect: (await attachInspector(url)).inspect }), or pass any',
    '@statelyai/inspect inspector as `inspect`. More in docs/observability.md.',
  ];
}

/**
 * Starts @statelyai/inspect's relay (`createInspectorServer`): a WebSocket server that forwards
 * inspection events to the Stately inspector in a browser page it serves on the same port.
 *
 * @example const relay = serveInspectorRelay({ port: 8080, open: false }); … relay.stop();
 */
export function serveInspectorRelay(options: { readonly port?: number; readonly open?: boolean } = {}): { stop(): void } {
  const { createInspectorServer } = loadModule<typeof InspectServer>('@statelyai/inspect/server');
  return createInspectorServer({ port: options.port ?? DEFAULT_INSPECTOR_PORT, autoOpen: options.open ?? true });
}
