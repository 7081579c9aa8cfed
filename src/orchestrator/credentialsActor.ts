import { fromCallback } from 'xstate';
import type { AuthResult, CredentialsRequest, SessionEvent } from '../../machines/agentSession.types';
import type { Authenticate } from '../credentials';
import { isAgentvisorError } from '../errors';
import type { Clock } from './clock';

export interface CredentialsActorOptions {
  readonly authenticate: Authenticate;
  readonly clock: Clock;
  /** An authentication that has not answered by then is denied with `auth-failed`. */
  readonly timeoutMs: number;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === 'function';
}

/**
 * One actor answers every session's `credentials.request`. A synchronous authenticator (keys from
 * the env) answers within the same step, so a session becomes active without an actor of its own
 * for authentication; an asynchronous one (a file read, an OAuth refresh) answers when it settles,
 * or is denied after `timeoutMs`.
 */
export function createCredentialsActor(options: CredentialsActorOptions) {
  return fromCallback<CredentialsRequest>(({ receive, system }) => {
    let stopped = false;
    const timers = new Set<ReturnType<Clock['setTimeout']>>();
    const reply = (sessionId: string, event: SessionEvent) => {
      if (!stopped) system.get(sessionId)?.send(event);
    };
    const deny = (request: CredentialsRequest, error: unknown) => {
      const code = isAgentvisorError(error) ? error.code : 'auth-failed';
      const message = error instanceof Error ? error.message : 'authentication failed';
      reply(request.sessionId, { type: 'credentials.denied', provider: request.provider, code, message });
    };
    const grant = (request: CredentialsRequest, result: AuthResult) => {
      reply(request.sessionId, { type: 'credentials.granted', provider: request.provider, result });
    };
    receive((request) => {
      let answer: AuthResult | Promise<AuthResult>;
      try {
        answer = options.authenticate({
          provider: request.provider,
          sessionId: request.sessionId,
          agentId: request.agentId,
          allocatedTokens: request.allocatedTokens,
          stint: request.stint,
        });
      } catch (error) {
        deny(request, error);
        return;
      }
      if (!isPromise(answer)) {
        grant(request, answer);
        return;
      }
      let settled = false;
      const timer = options.clock.setTimeout(() => {
        timers.delete(timer);
        if (settled) return;
        settled = true;
        deny(
          request,
          new Error(`authentication for ${request.provider} did not answer within ${options.timeoutMs} ms`),
        );
      }, options.timeoutMs);
      timers.add(timer);
      answer.then(
        (result) => {
          if (settled) return;
          settled = true;
          options.clock.clearTimeout(timer);
          timers.delete(timer);
          grant(request, result);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          options.clock.clearTimeout(timer);
          timers.delete(timer);
          deny(request, error);
        },
      );
    });
    return () => {
      stopped = true;
      for (const timer of timers) options.clock.clearTimeout(timer);
      timers.clear();
    };
  });
}
