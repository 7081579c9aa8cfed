import { isAgentvisorError } from '../errors';
import type { FailureReport, ManagedAgent, Orchestrator } from '../orchestrator';
import type { ProviderId } from '../../machines/providers';

/** One demo agent's plan. */
export interface DemoAgentSpec {
  readonly agentId: string;
  readonly estimatedTokens: number;
  /** Model calls to make (each success is one turn). */
  readonly turns: number;
  /** How long to wait for admission. */
  readonly waitMs: number;
  /** The provider to start on; the agent waits for it when it is full (the other provider stays free for fallbacks). */
  readonly preferredProvider?: ProviderId;
}

export interface DemoAgentResult {
  readonly agentId: string;
  readonly status: 'completed' | 'refused' | 'ended';
  readonly code: string | null;
  readonly providers: readonly ProviderId[];
  readonly estimatedTokens: number;
  readonly usedTokens: number;
  readonly returnedTokens: number;
  readonly fallbacks: number;
  readonly retries: number;
  readonly waitedMs: number;
  readonly turns: number;
}

export interface DemoAgentHooks {
  /** A progress line (retries and refusals; the orchestrator's events cover the rest). */
  readonly onProgress?: (agentId: string, text: string) => void;
}

type ModelAnswer =
  | { readonly ok: true; readonly usage: { inputTokens: number; outputTokens: number } }
  | { readonly ok: false; readonly report: FailureReport };

function tokens(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/**
 * One model call the way an API-driven agent makes it: over HTTP, with nothing but its `env`
 * (the provider's key and base URL). Claude: Messages API with `x-api-key`; OpenAI: Responses API
 * with a Bearer key.
 */
async function callModel(agent: ManagedAgent, turn: number): Promise<ModelAnswer> {
  const env = agent.env;
  const claude = agent.provider === 'claude';
  const url = claude ? `${env.ANTHROPIC_BASE_URL ?? ''}/v1/messages` : `${env.OPENAI_BASE_URL ?? ''}/responses`;
  const headers: Record<string, string> = claude
    ? {
        'content-type': 'application/json',
        'x-api-key': env.ANTHROPIC_API_KEY ?? '',
        'anthropic-version': '2023-06-01',
      }
    : { 'content-type': 'application/json', authorization: `Bearer ${env.OPENAI_API_KEY ?? ''}` };
  const prompt = `demo turn ${turn}`;
  const body = claude
    ? { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: prompt }] }
    : { model: 'gpt-5', input: prompt };
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  } catch (error) {
    return { ok: false, report: { error } };
  }
  const parsed: unknown = await res.json().catch(() => null);
  if (!res.ok) return { ok: false, report: { status: res.status, headers: res.headers, body: parsed } };
  const usage = (parsed as { usage?: Record<string, unknown> } | null)?.usage ?? {};
  return { ok: true, usage: { inputTokens: tokens(usage.input_tokens), outputTokens: tokens(usage.output_tokens) } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A demo agent, API-driven: it spawns (waiting for admission), makes `turns` real HTTP calls to the
 * sandbox with its env, reports usage, hands every failure (status, headers, body) to
 * `reportFailure` and follows the answer (call the next provider after a fallback, wait after a
 * retry), then releases. The ManagedAgent is the whole adapter: no wrapper needed.
 *
 * @example const result = await runDemoAgent(orch, { agentId: 'agent-01', estimatedTokens: 20_000, turns: 3, waitMs: 120_000 });
 */
export async function runDemoAgent(
  orch: Orchestrator,
  spec: DemoAgentSpec,
  hooks: DemoAgentHooks = {},
): Promise<DemoAgentResult> {
  const progress = hooks.onProgress ?? (() => undefined);
  const askedAt = Date.now();
  const base = { agentId: spec.agentId, estimatedTokens: spec.estimatedTokens };
  let agent: ManagedAgent;
  try {
    agent = await orch.spawnAgent({
      agentId: spec.agentId,
      estimatedTokens: spec.estimatedTokens,
      waitMs: spec.waitMs,
      task: `demo: ${spec.turns} turns`,
      ...(spec.preferredProvider === undefined
        ? {}
        : { preferredProvider: spec.preferredProvider, whenPreferredBusy: 'wait' as const }),
    });
  } catch (error) {
    const code = isAgentvisorError(error) ? error.code : 'error';
    progress(spec.agentId, `refused (${code})`);
    return {
      ...base,
      status: 'refused',
      code,
      providers: [],
      usedTokens: 0,
      returnedTokens: 0,
      fallbacks: 0,
      retries: 0,
      waitedMs: Date.now() - askedAt,
      turns: 0,
    };
  }
  const waitedMs = Date.now() - askedAt;
  const providers: ProviderId[] = [agent.provider];
  let done = 0;
  let retries = 0;
  let code: string | null = null;
  while (done < spec.turns && agent.isLive) {
    const answer = await callModel(agent, done + 1);
    if (!agent.isLive) break;
    try {
      if (answer.ok) {
        agent.reportUsage(answer.usage);
        done += 1;
        continue;
      }
      const outcome = await agent.reportFailure(answer.report);
      if (outcome.action === 'retry') {
        retries += 1;
        progress(
          spec.agentId,
          `${outcome.provider} failed (${outcome.kind}): retries in ${(outcome.delayMs / 1000).toFixed(2)} s (attempt ${outcome.attempt})`,
        );
        await sleep(outcome.delayMs);
      } else if (outcome.action === 'fallback' && !providers.includes(outcome.to)) {
        providers.push(outcome.to);
      }
    } catch (error) {
      code = isAgentvisorError(error) ? error.code : 'error';
      break;
    }
  }
  // An agent the system already ended (no provider left, budget gone) still reports its settlement here.
  const result = await agent.release();
  return {
    ...base,
    status: code === null && result.reason === 'released' ? 'completed' : 'ended',
    code: code ?? (result.reason === 'released' ? null : result.reason),
    providers,
    usedTokens: result.usedTokens,
    returnedTokens: result.returnedTokens,
    fallbacks: result.fallbacks.length,
    retries,
    waitedMs,
    turns: done,
  };
}
