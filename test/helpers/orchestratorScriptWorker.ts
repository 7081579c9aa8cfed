/**
 * Child process for the ledger integrity tests: one orchestrator on a shared ledger, driven by JSON
 * commands on stdin, one per line, answering with one JSON line each on stdout:
 *   { op: 'spawn', id, estimatedTokens, waitMs? }  → { op: 'spawned', id, provider, allocatedTokens } | { op: 'refused', id, code }
 *   { op: 'usage', id, tokens }                    → { op: 'used', id, allocatedTokens }
 *   { op: 'release', id }                          → { op: 'released', id, usedTokens } (after release() resolved)
 *                                                    | { op: 'release-failed', id, code } (release() rejected)
 *   { op: 'stop' }                                 → { op: 'stopped' }, then exits
 * Prints { op: 'ready' } once started. Run with ts-node (transpile only); the spec is argv[2]:
 * { ledger: { file } | { redis, keyPrefix }, limits, syncIntervalMs? }.
 */
import readline from 'node:readline';
import { createOrchestrator, isAgentvisorError } from '../../src';
import type { ManagedAgent, OrchestratorOptions } from '../../src';

interface Spec {
  readonly ledger: Record<string, string>;
  readonly limits: OrchestratorOptions['limits'];
  readonly syncIntervalMs?: number;
}

type Command =
  | { readonly op: 'spawn'; readonly id: string; readonly estimatedTokens: number; readonly waitMs?: number }
  | { readonly op: 'usage'; readonly id: string; readonly tokens: number }
  | { readonly op: 'release'; readonly id: string }
  | { readonly op: 'stop' };

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const say = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function main(): Promise<void> {
  const orch = createOrchestrator({
    env: { ANTHROPIC_API_KEY: 'sk-ant-api03-SCRIPTworkerKEY-0001' },
    credentialSources: ['env'],
    fallbackChain: ['claude'],
    limits: spec.limits,
    ledger: {
      ...spec.ledger,
      ...(spec.syncIntervalMs === undefined ? {} : { syncIntervalMs: spec.syncIntervalMs }),
    } as OrchestratorOptions['ledger'],
  });
  await orch.start();
  const agents = new Map<string, ManagedAgent>();
  say({ op: 'ready' });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as Command;
    if (command.op === 'spawn') {
      orch.spawnAgent({ estimatedTokens: command.estimatedTokens, waitMs: command.waitMs ?? 0 }).then(
        (agent) => {
          agents.set(command.id, agent);
          say({ op: 'spawned', id: command.id, provider: agent.provider, allocatedTokens: agent.allocatedTokens });
        },
        (error: unknown) =>
          say({ op: 'refused', id: command.id, code: isAgentvisorError(error) ? error.code : String(error) }),
      );
    } else if (command.op === 'usage') {
      const agent = agents.get(command.id)!;
      agent.reportUsage({ inputTokens: command.tokens, outputTokens: 0 });
      say({ op: 'used', id: command.id, allocatedTokens: agent.allocatedTokens });
    } else if (command.op === 'release') {
      await agents
        .get(command.id)!
        .release()
        .then(
          (result) => say({ op: 'released', id: command.id, usedTokens: result.usedTokens }),
          (error: unknown) =>
            say({ op: 'release-failed', id: command.id, code: isAgentvisorError(error) ? error.code : String(error) }),
        );
    } else {
      await orch.stop();
      say({ op: 'stopped' });
      process.exit(0);
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
