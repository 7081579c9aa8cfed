import { AgentvisorError, isAgentvisorError } from '../errors';
import type { ManagedAgent } from '../orchestrator';
import type { TokenUsage } from '../providers';
import { MAX_TOKENS } from '../orchestrator/options';

/**
 * Counts what one task spends, as it spends it: every increment goes to the session at once
 * (`reportUsage`, so the ledger and `agentvisor quota` see a run that is still going) and is
 * checked against the task's hard cap. `stopError` is set, once, when the task must stop: its usage
 * passed `maxTokens` (`token-limit`) or the budget could not cover it (`quota-exhausted`).
 *
 * @example
 * const meter = new TaskMeter(agent, 100_000);
 * if (meter.record({ inputTokens: 900, outputTokens: 80 }) !== null) stopTheAgent();
 */
export class TaskMeter {
  readonly #agent: ManagedAgent;
  readonly #maxTokens: number | null;
  #spent: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  #stopError: AgentvisorError | null = null;

  constructor(agent: ManagedAgent, maxTokens: number | null) {
    this.#agent = agent;
    this.#maxTokens = maxTokens;
  }

  /** Usage counted for the task so far (every run, failed ones included). */
  get spent(): TokenUsage {
    return this.#spent;
  }

  get totalTokens(): number {
    return this.#spent.inputTokens + this.#spent.outputTokens;
  }

  /** Why the task must stop, once it must. */
  get stopError(): AgentvisorError | null {
    return this.#stopError;
  }

  /**
   * Counts usage (nothing once the session has ended). Returns the error that stops the task when
   * this usage made it pass the cap or the budget, else null. The session records the usage even
   * when the budget could not cover it (it then ends with quota-exhausted).
   */
  record(usage: TokenUsage | undefined): AgentvisorError | null {
    if (usage === undefined || usage.inputTokens + usage.outputTokens === 0 || !this.#agent.isLive) return null;
    let error: AgentvisorError | null = null;
    try {
      this.#agent.reportUsage(usage);
    } catch (caught) {
      // The session refused the report and counted none of it: neither does the task.
      if (isAgentvisorError(caught, 'invalid-usage'))
        return (this.#stopError ??= untrustedUsage(this.#agent.id, usage));
      error = isAgentvisorError(caught) ? caught : new AgentvisorError('agent-failed', 'usage could not be reported');
    }
    this.#spent = {
      inputTokens: this.#spent.inputTokens + usage.inputTokens,
      outputTokens: this.#spent.outputTokens + usage.outputTokens,
    };
    if (error === null && this.#maxTokens !== null && this.totalTokens > this.#maxTokens) {
      error = new AgentvisorError(
        'token-limit',
        `task ${this.#agent.id} used ${this.totalTokens.toLocaleString('en-US')} tokens, past its cap of ${this.#maxTokens.toLocaleString('en-US')}: ` +
          `the agent was stopped and its usage counted; raise maxTokens (--max-tokens) or split the task`,
        {
          details: { agentId: this.#agent.id, maxTokens: this.#maxTokens, usedTokens: this.totalTokens },
        },
      );
    }
    if (error !== null) this.#stopError ??= error;
    return error;
  }
}

/** An agent that printed more tokens for one message than any report may hold: its output cannot be trusted. */
function untrustedUsage(agentId: string, usage: TokenUsage): AgentvisorError {
  const claimed =
    usage.inputTokens > MAX_TOKENS
      ? `${usage.inputTokens.toLocaleString('en-US')} input tokens`
      : `${usage.outputTokens.toLocaleString('en-US')} output tokens`;
  return new AgentvisorError(
    'agent-failed',
    `the agent of task ${agentId} printed ${claimed} for one message, more than the ${MAX_TOKENS.toLocaleString('en-US')} ` +
      `one report may hold: its output cannot be trusted, so the task ends here (the agent stopped) without counting that usage; check the CLI and its version`,
    { details: { agentId, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens } },
  );
}
