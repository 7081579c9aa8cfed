/**
 * Helpers for model-based tests that drive the real orchestrator (src/) step by step.
 *
 * - createGatedAuthenticator: the real env credential lookup (createEnvAuthenticator over a
 *   mutable env holding the keys), answered only when the test opens the gate. This makes the
 *   `authenticating` state observable; `deny` removes the provider's key from the env first, so the
 *   denial is the real lookup failing, not a stub.
 * - track: records how a promise settled, so a step can assert "still pending" exactly.
 * - flush: lets promise callbacks (an asynchronous authentication, a spawn promise) run.
 */
import { isAgentvisorError } from '../../src';
import type { ProviderId } from '../../src';
import { createEnvAuthenticator } from '../../src/credentials';
import type { Authenticate } from '../../src/credentials';
import type { AuthInput, AuthResult } from '../../machines/agentSession.types';

/** Fake keys, shaped like the real ones. */
export const MODEL_KEYS: Readonly<Record<ProviderId, string>> = {
  claude: 'sk-ant-api03-model-test-CLAUDE-a1b2c3',
  openai: 'sk-proj-model-test-OPENAI-d4e5f6',
};

/** Where each provider's key is read from and what the agent gets it under. */
export const KEY_VARS: Readonly<Record<ProviderId, readonly string[]>> = {
  claude: ['ANTHROPIC_API_KEY', 'CLAUDE_API_KEY'],
  openai: ['OPENAI_API_KEY'],
};

export function keyEnv(): Record<string, string | undefined> {
  return { ANTHROPIC_API_KEY: MODEL_KEYS.claude, OPENAI_API_KEY: MODEL_KEYS.openai };
}

/** Runs queued promise callbacks (and anything they schedule) before the next check. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

export type Tracked<T> =
  | { readonly state: 'pending' }
  | { readonly state: 'resolved'; readonly value: T }
  | { readonly state: 'rejected'; readonly error: unknown };

/** Watches a promise; `current()` says how it has settled so far. Never leaves a rejection unhandled. */
export function track<T>(promise: Promise<T>): { current(): Tracked<T> } {
  let status: Tracked<T> = { state: 'pending' };
  promise.then(
    (value) => {
      status = { state: 'resolved', value };
    },
    (error: unknown) => {
      status = { state: 'rejected', error };
    },
  );
  return { current: () => status };
}

/** The agentvisor error code of an error, or a description of what else it was. */
export function codeOf(error: unknown): string {
  if (isAgentvisorError(error)) return error.code;
  return error instanceof Error ? `non-agentvisor error: ${error.message}` : `non-error: ${String(error)}`;
}

interface Held {
  readonly input: AuthInput;
  readonly resolve: (result: AuthResult | PromiseLike<AuthResult>) => void;
  readonly reject: (error: unknown) => void;
}

export function createGatedAuthenticator(env: Record<string, string | undefined>) {
  const lookup = createEnvAuthenticator({ env });
  const held = new Map<ProviderId, Held[]>();
  const open = (provider: ProviderId) => {
    const waiting = held.get(provider) ?? [];
    if (waiting.length === 0) throw new Error(`no authentication for ${provider} is waiting at the gate`);
    held.delete(provider);
    for (const h of waiting) {
      try {
        h.resolve(lookup(h.input));
      } catch (error) {
        h.reject(error);
      }
    }
  };
  const authenticate: Authenticate = (input) =>
    new Promise<AuthResult>((resolve, reject) => {
      held.set(input.provider, [...(held.get(input.provider) ?? []), { input, resolve, reject }]);
    });
  return {
    authenticate,
    /** Answers the waiting authentications for `provider` with the real lookup (the key is in the env). */
    grant(provider: ProviderId): void {
      open(provider);
    },
    /** Revokes the provider's key from the env, then answers: the real lookup fails with auth-failed. */
    deny(provider: ProviderId): void {
      for (const name of KEY_VARS[provider]) delete env[name];
      open(provider);
    },
    /** Providers with an authentication waiting at the gate. */
    waiting(): ProviderId[] {
      return [...held.entries()].filter(([, list]) => list.length > 0).map(([p]) => p);
    },
  };
}
