import { createInspector } from '@statelyai/inspect';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import type { ActorRefLike, AnyActorRef, InspectionEvent } from 'xstate';
import { Secret, createManualClock, createOrchestrator } from '../../src';
import type { OrchestratorOptions } from '../../src';
import type { AuthResult } from '../../machines/agentSession.types';
import { SecretMasker, sanitizeInspection } from '../../src/observability';
import { T0, errorOf } from '../helpers/orchestratorFixtures';

const TOKEN = 'opaque-inspection-token-AbCdEf0123456789';
const KEY = 'sk-proj-InspectionTestOpenAIKey-0123456789Mnop';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fakeRef(snapshot: unknown, extra: Record<string, unknown> = {}): ActorRefLike & Record<string, unknown> {
  return { id: 'x', sessionId: 'x:1', send: () => undefined, getSnapshot: () => snapshot, ...extra };
}

/** An orchestrator whose claude credential is an opaque token and whose openai authentication fails quoting it. */
function leakyOrchestrator(inspect: OrchestratorOptions['inspect']) {
  const authenticate = ({ provider }: { provider: 'claude' | 'openai' }): AuthResult => {
    if (provider === 'openai') throw new Error(`refused: token ${TOKEN} is not valid for OpenAI; key ${KEY}`);
    return {
      source: 'test',
      hint: '…',
      secretEnv: { CLAUDE_CODE_OAUTH_TOKEN: new Secret(TOKEN) },
      env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' },
    };
  };
  return createOrchestrator({
    clock: createManualClock(T0),
    authenticate,
    inspect,
    fallbackChain: ['claude', 'openai'],
  });
}

describe('sanitized inspection', () => {
  it("should give a plain observer events whose payloads carry no secret, the provider's message included", async () => {
    const received: InspectionEvent[] = [];
    const orch = leakyOrchestrator((event: InspectionEvent) => received.push(event));
    await orch.start();
    const agent = await orch.spawnAgent({ estimatedTokens: 100, agentId: 'a' });
    expect(agent.env.CLAUDE_CODE_OAUTH_TOKEN).toBe(TOKEN);
    // Falls back to openai, whose authentication fails quoting the token: the host's error is masked too.
    const error = (await errorOf(() => agent.reportFailure({ status: 529 }))) as Error;
    expect(error.message).toBe('refused: token [REDACTED] is not valid for OpenAI; key sk-…Mnop');
    await orch.stop();

    const denied = received.filter((e) => e.type === '@xstate.event' && e.event.type === 'credentials.denied');
    expect(denied).toHaveLength(1);
    // The message was there, masked: the registered token as [REDACTED], the unregistered key as its hint.
    expect((denied[0] as unknown as { event: { message: string } }).event.message).toBe(
      'refused: token [REDACTED] is not valid for OpenAI; key sk-…Mnop',
    );
    const granted = received.find((e) => e.type === '@xstate.event' && e.event.type === 'credentials.granted') as
      { event: unknown } | undefined;
    expect(JSON.stringify(granted?.event)).toContain('"CLAUDE_CODE_OAUTH_TOKEN":"[REDACTED]"');
    const everything = received.map((e) =>
      JSON.stringify({ ...e, snapshot: 'snapshot' in e ? e.snapshot : (e.actorRef as AnyActorRef).getSnapshot() }),
    );
    expect(everything.join('\n')).not.toContain(TOKEN);
    expect(everything.join('\n')).not.toContain('InspectionTestOpenAIKey');
    expect(new Set(received.map((e) => e.type))).toEqual(
      new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot', '@xstate.microstep', '@xstate.action']),
    );
  });

  it('should accept a @statelyai/inspect inspector itself, and give its adapter the coordinator and the session', async () => {
    const sent: StatelyInspectionEvent[] = [];
    const inspector = createInspector({
      send: (event) => sent.push(JSON.parse(JSON.stringify(event)) as StatelyInspectionEvent),
    });
    const orch = leakyOrchestrator(inspector);
    await orch.start();
    const agent = await orch.spawnAgent({ estimatedTokens: 100, agentId: 'a' });
    await errorOf(() => agent.reportFailure({ status: 529 }));
    await orch.stop();
    await sleep(20); // the inspector converts events in a timer
    const actors = sent.filter((e) => e.type === '@xstate.actor').map((e) => (e as { name: string }).name);
    expect(actors).toEqual(expect.arrayContaining(['coordinator', 'sessions', agent.sessionId]));
    const text = JSON.stringify(sent);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('InspectionTestOpenAIKey');
    expect(text).toContain('[REDACTED]');
  });

  it('should pass a snapshot read later through the facade sanitized, and keep one facade per actor', () => {
    const masker = new SecretMasker();
    masker.add(TOKEN);
    const events: InspectionEvent[] = [];
    const observer = sanitizeInspection({ next: (e: InspectionEvent) => events.push(e) }, masker);
    const parent = fakeRef({ context: {} }, { id: 'parent', sessionId: 'x:0' });
    const ref = fakeRef(
      { context: { note: `t=${TOKEN}`, sessions: new Map([['s1', new Secret(TOKEN)]]) } },
      { _parent: parent, logic: { config: { id: 'm' }, transition: () => 1 } },
    );
    observer.next!({ type: '@xstate.actor', actorRef: ref, rootId: 'x:0' });
    observer.next!({
      type: '@xstate.action',
      actorRef: ref,
      rootId: 'x:0',
      action: { type: 'assign', params: { token: TOKEN } },
    });
    const actor = events[0] as unknown as {
      actorRef: { getSnapshot(): unknown; logic: unknown; _parent: { sessionId: string }; toJSON(): unknown };
    };
    expect(actor.actorRef.getSnapshot()).toEqual({ context: { note: 't=[REDACTED]', sessions: { s1: '[REDACTED]' } } });
    expect(actor.actorRef.logic).toEqual({ config: { id: 'm' } });
    expect(actor.actorRef._parent.sessionId).toBe('x:0');
    expect(actor.actorRef.toJSON()).toEqual({ xstate$$type: 1, id: 'x' });
    expect(events[1]).toMatchObject({
      type: '@xstate.action',
      action: { type: 'assign', params: { token: '[REDACTED]' } },
    });
    expect((events[1] as { actorRef: unknown }).actorRef).toBe(actor.actorRef);
  });

  it('should drop an event it cannot sanitize instead of throwing into the actors', () => {
    const events: InspectionEvent[] = [];
    const observer = sanitizeInspection((e) => events.push(e), null);
    const hostile = {
      get context(): never {
        throw new Error('no');
      },
    };
    expect(() =>
      observer.next!({
        type: '@xstate.snapshot',
        actorRef: fakeRef(null),
        rootId: 'x',
        event: { type: 'e' },
        snapshot: hostile as never,
      }),
    ).not.toThrow();
    expect(events).toEqual([]);
  });

  it('should refuse something that is not an observer, a function or an inspector', () => {
    expect(() => sanitizeInspection({ nope: true } as never, null)).toThrow('inspect must be an observer');
  });
});
