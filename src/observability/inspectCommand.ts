import net from 'node:net';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { AgentvisorError } from '../errors';
import { DEFAULT_INSPECTOR_PORT, inspectInstructions, serveInspectorRelay } from './inspectorRelay';

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port from 1 to 65535');
  return n;
}

/** The relay does not report a taken port (it would crash on it): check first. */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => reject(new AgentvisorError('invalid-option', `port ${port} is not free (${error.code ?? error.message}); choose another with --port`)));
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

/**
 * `agentvisor inspect`: prints how to watch the machines in the Stately inspector; with `--serve`
 * runs the relay (until Ctrl-C) that `--inspect ws://localhost:<port>` sends to. With `--json`,
 * stdout gets one JSON line: `{ ok, relay, page, serving, instructions? }` (with `--serve`, once the
 * relay listens).
 *
 * @example addInspectCommand(program) // agentvisor inspect [--serve] [--port 8080] [--no-open]
 */
export function addInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('explain how to watch the coordinator and every agent session in the Stately inspector; --serve starts the relay')
    .option('--serve', 'run the relay that forwards inspection events to the Stately inspector in your browser (until Ctrl-C)')
    .addOption(new Option('--port <port>', 'the relay\'s port').argParser(port).default(DEFAULT_INSPECTOR_PORT))
    .option('--no-open', 'do not open the browser page (print its address instead)')
    .action(async (opts: { serve?: boolean; port: number; open: boolean }, command: Command) => {
      // --json: the facts as one JSON line on stdout (the last line), words for people on stderr.
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      const facts = { ok: true, relay: `ws://localhost:${opts.port}`, page: `http://localhost:${opts.port}`, serving: opts.serve === true };
      if (opts.serve !== true) {
        if (json) process.stdout.write(`${JSON.stringify({ ...facts, instructions: inspectInstructions(opts.port) })}\n`);
        else process.stdout.write(`${inspectInstructions(opts.port).join('\n')}\n`);
        return;
      }
      await assertPortFree(opts.port);
      const relay = serveInspectorRelay({ port: opts.port, open: opts.open });
      if (json) process.stdout.write(`${JSON.stringify(facts)}\n`);
      process.stderr.write(
        `Inspector relay on ws://localhost:${opts.port}; the inspector page is http://localhost:${opts.port}.\n` +
          `Now run, in another terminal: agentvisor --inspect ws://localhost:${opts.port} demo\nCtrl-C stops the relay.\n`,
      );
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      relay.stop();
      // The relay does not close the sockets of connected browsers: end here, this is the normal way out.
      process.exit(0);
    });
}
