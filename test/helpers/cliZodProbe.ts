/**
 * Child process for "the CLI run path does not load zod": starts and stops the orchestrator the way
 * `agentvisor run` does (startCliOrchestrator, file ledger, audit trail), or with `library` the way a
 * library caller does, then prints whether any loaded module is zod's. Run with
 * `node -r ts-node/register/transpile-only`. Arguments: home, `cli` or `library`.
 */
import path from 'node:path';
import { startCliOrchestrator } from '../../src/cli/runCommands';
import { createOrchestrator } from '../../src/orchestrator/createOrchestrator';

function zodLoaded(): boolean {
  return Object.keys(require.cache).some((key) => key.includes(`${path.sep}zod${path.sep}`));
}

async function main(): Promise<void> {
  const [home, mode] = process.argv.slice(2);
  if (home === undefined || (mode !== 'cli' && mode !== 'library'))
    throw new Error('usage: cliZodProbe <home> cli|library');
  const before = zodLoaded();
  if (mode === 'cli') {
    const context = {
      home,
      claudeHome: path.join(home, 'claude'),
      json: false,
      logLevel: 'silent' as const,
      configFile: path.join(home, 'agentvisor', 'config.json'),
      config: null,
    };
    const { close } = await startCliOrchestrator(
      { ...context, metricsPort: null, inspectUrl: null, audit: null },
      { claude: { maxConcurrent: 2 } },
    );
    await close();
  } else {
    const orch = createOrchestrator({ home, env: {}, limits: { claude: { maxConcurrent: 2 } } });
    await orch.start();
    await orch.stop();
  }
  process.stdout.write(JSON.stringify({ before, after: zodLoaded() }));
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
