import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import {
  DEFAULT_INSPECTOR_HOST,
  DEFAULT_INSPECTOR_PORT,
  inspectInstructions,
  relayUrls,
  serveInspectorRelay,
} from './inspectorRelay';

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535)
    throw new InvalidArgumentError('expected a port from 0 (any free port) to 65535');
  return n;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Resolves with the first stop signal; the handlers go at once, so a second signal ends the process. */
function firstStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handlers = STOP_SIGNALS.map((signal) => {
      const handler = (): void => {
        for (const [name, h] of handlers) process.off(name, h);
        resolve(signal);
      };
      process.on(signal, handler);
      return [signal, handler] as const;
    });
  });
}

/**
 * `agentvisor inspect`: prints how to watch the machines in the Stately inspector; with `--serve`
 * runs the relay that `--inspect ws://localhost:<port>` sends to, on 127.0.0.1 unless `--host`
 * names another address, until Ctrl-C, SIGTERM or SIGHUP: then it closes every connection and the
 * port and exits 0. With `--json`, stdout gets one JSON line: `{ ok, relay, page, serving, host,
 * port, instructions? }` (with `--serve`, once the relay listens, with the port it got).
 *
 * @example addInspectCommand(program) // agentvisor inspect [--serve] [--port 8080] [--host 127.0.0.1] [--no-open]
 */
export function addInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description(
      'explain how to watch the coordinator and every agent session in the Stately inspector; --serve starts the relay',
    )
    .option(
      '--serve',
      'run the relay that forwards inspection events to the Stately inspector in your browser (until Ctrl-C)',
    )
    .addOption(
      new Option('--port <port>', "the relay's port (0: any free port)")
        .argParser(port)
        .default(DEFAULT_INSPECTOR_PORT),
    )
    .addOption(
      new Option('--host <address>', 'the address the relay listens on (0.0.0.0: every interface)').default(
        DEFAULT_INSPECTOR_HOST,
      ),
    )
    .option('--no-open', 'do not open the browser page (print its address instead)')
    .action(async (opts: { serve?: boolean; port: number; host: string; open: boolean }, command: Command) => {
      // --json: the facts as one JSON line on stdout (the last line), words for people on stderr.
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      if (opts.serve !== true) {
        const facts = {
          ok: true,
          ...relayUrls(opts.host, opts.port),
          serving: false,
          host: opts.host,
          port: opts.port,
        };
        if (json)
          process.stdout.write(
            `${JSON.stringify({ ...facts, instructions: inspectInstructions(opts.port, opts.host) })}\n`,
          );
        else process.stdout.write(`${inspectInstructions(opts.port, opts.host).join('\n')}\n`);
        return;
      }
      const relay = await serveInspectorRelay({ port: opts.port, host: opts.host, open: opts.open });
      const stopped = firstStopSignal();
      if (json)
        process.stdout.write(
          `${JSON.stringify({ ok: true, relay: relay.url, page: relay.page, serving: true, host: relay.address.address, port: relay.address.port })}\n`,
        );
      const loopback = ['127.0.0.1', '::1', 'localhost'].includes(opts.host);
      process.stderr.write(
        `Inspector relay on ${relay.url} (listening on ${relay.address.address}); the inspector page is ${relay.page}.\n` +
          (loopback
            ? ''
            : 'It accepts connections from other machines: anyone who reaches this address sees the (sanitized) events.\n') +
          `Now run, in another terminal: agentvisor --inspect ${relay.url} demo\nCtrl-C stops the relay.\n`,
      );
      const signal = await stopped;
      await relay.stop();
      process.stderr.write(`Inspector relay stopped (${signal === 'SIGINT' ? 'Ctrl-C' : signal}).\n`);
      // Nothing of the relay is left: the process ends by itself, exit code 0.
    });
}
