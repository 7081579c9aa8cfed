/**
 * Provider switches: `providers.<id>.enabled` and AGENTVISOR_DISABLE_PROVIDERS take a provider out
 * of admission and out of every fallback chain; `rolloutPercent` admits a deterministic share of
 * new sessions onto a provider, keyed by agent id.
 */
import { createManualClock, createOrchestrator, rolloutBucket } from '../../src';
import type { Orchestrator } from '../../src';
import { resolveProviderSwitches } from '../../src/orchestrator/providerSwitches';
import { BOTH_KEYS_ENV, MINUTE, T0, agentvisorErrorOf, startHarness } from '../helpers/orchestratorFixtures';

describe('provider switches', () => {
  describe('resolveProviderSwitches', () => {
    it('should read the option and AGENTVISOR_DISABLE_PROVIDERS, naming what switched a provider off', () => {
      expect(resolveProviderSwitches(undefined, {})).toEqual({
        claude: { enabled: true, disabledBy: null, rolloutPercent: 100 },
        openai: { enabled: true, disabledBy: null, rolloutPercent: 100 },
      });
      expect(
        resolveProviderSwitches(
          { openai: { enabled: false }, claude: { rolloutPercent: 25 } },
          { AGENTVISOR_DISABLE_PROVIDERS: ' Claude , ' },
        ),
      ).toEqual({
        claude: { enabled: false, disabledBy: 'env', rolloutPercent: 25 },
        openai: { enabled: false, disabledBy: 'option', rolloutPercent: 100 },
      });
    });

    it('should refuse an unknown provider in the variable or the option, and a share outside 0-100, with invalid-option', async () => {
      const env = await agentvisorErrorOf(
        () => resolveProviderSwitches(undefined, { AGENTVISOR_DISABLE_PROVIDERS: 'claude,gemini' }),
        'invalid-option',
      );
      expect(env.message).toBe(
        'AGENTVISOR_DISABLE_PROVIDERS names an unknown provider "gemini": list providers from claude, openai separated by commas, or unset it',
      );
      const option = await agentvisorErrorOf(() => resolveProviderSwitches({ gemini: {} }, {}), 'invalid-option');
      expect(option.message).toBe('providers.gemini: unknown provider (known: claude, openai)');
      const share = await agentvisorErrorOf(
        () => resolveProviderSwitches({ openai: { rolloutPercent: 101 } }, {}),
        'invalid-option',
      );
      expect(share.message).toBe('providers.openai.rolloutPercent must be a whole number from 0 to 100, got 101');
      const key = await agentvisorErrorOf(
        () => resolveProviderSwitches({ openai: { enable: false } }, {}),
        'invalid-option',
      );
      expect(key.message).toBe('providers.openai.enable is not a provider switch (known: enabled, rolloutPercent)');
      await agentvisorErrorOf(
        () => createOrchestrator({ env: { AGENTVISOR_DISABLE_PROVIDERS: 'nope' } }),
        'invalid-option',
      );
    });
  });

  describe('enabled: false and AGENTVISOR_DISABLE_PROVIDERS', () => {
    it('should admit a session that prefers a switched-off provider on the next one, and show the switch in stats()', async () => {
      const { orch } = await startHarness({ providers: { claude: { enabled: false } } });
      const agent = await orch.spawnAgent({ estimatedTokens: 1_000, preferredProvider: 'claude' });
      expect(agent.provider).toBe('openai');
      expect(agent.env.ANTHROPIC_API_KEY).toBeUndefined();
      const { claude, openai } = orch.stats().providers;
      expect([claude.enabled, claude.disabledBy, claude.rolloutPercent, claude.active]).toEqual([
        false,
        'option',
        100,
        0,
      ]);
      expect([openai.enabled, openai.disabledBy, openai.rolloutPercent, openai.active]).toEqual([true, null, 100, 1]);
      await orch.stop();
    });

    it('should keep a switched-off provider out of the fallback chain: a failure with nothing left ends the session', async () => {
      const { orch, events } = await startHarness({
        env: { ...BOTH_KEYS_ENV, AGENTVISOR_DISABLE_PROVIDERS: 'openai' },
      });
      const agent = await orch.spawnAgent({ estimatedTokens: 1_000 });
      expect(agent.provider).toBe('claude');
      const error = await agentvisorErrorOf(
        () =>
          agent.reportFailure({
            status: 401,
            body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
          }),
        'no-provider',
      );
      expect(error.message).toBe('the provider failed (auth) and no fallback provider is left');
      expect(events.of('agent.fallback')).toEqual([]);
      expect(events.of('agent.released')).toMatchObject([{ agentId: agent.id, provider: 'claude', reason: 'failed' }]);
      expect(orch.stats().providers.openai).toMatchObject({ enabled: false, disabledBy: 'env', active: 0, used: 0 });
      await orch.stop();
    });

    it('should refuse no-provider at once, naming the switch, when every provider is off (even with waitMs)', async () => {
      const { orch, events } = await startHarness({
        env: { ...BOTH_KEYS_ENV, AGENTVISOR_DISABLE_PROVIDERS: 'claude' },
        providers: { openai: { enabled: false } },
      });
      const error = await agentvisorErrorOf(
        () => orch.spawnAgent({ estimatedTokens: 1_000, agentId: 'a1', waitMs: MINUTE }),
        'no-provider',
      );
      expect(error.message).toBe(
        'agent a1 was not admitted: no provider it may use can take it (claude is switched off (AGENTVISOR_DISABLE_PROVIDERS); ' +
          'openai is switched off (providers.openai.enabled: false)); switch a provider back on, or use a provider the switches leave it',
      );
      expect(error.retryAfterMs).toBeNull();
      expect(events.of('agent.queued')).toEqual([]);
      expect(orch.stats().queued).toBe(0);
      expect(orch.stats().activity.refused).toEqual({ 'no-provider': 1 });
      await orch.stop();
    });

    it("should refuse no-provider for 'wait' on a switched-off preferred provider instead of waiting for it", async () => {
      const { orch } = await startHarness({ providers: { openai: { enabled: false } } });
      const error = await agentvisorErrorOf(
        () =>
          orch.spawnAgent({
            estimatedTokens: 1_000,
            agentId: 'w',
            preferredProvider: 'openai',
            whenPreferredBusy: 'wait',
            waitMs: MINUTE,
          }),
        'no-provider',
      );
      expect(error.message).toContain('openai is switched off (providers.openai.enabled: false)');
      // Without naming a provider, 'wait' waits for the first one the switches leave.
      const agent = await orch.spawnAgent({ estimatedTokens: 1_000, whenPreferredBusy: 'wait' });
      expect(agent.provider).toBe('claude');
      await orch.stop();
    });
  });

  describe('rolloutPercent (canary)', () => {
    async function canary(percent: number): Promise<Orchestrator> {
      const orch = createOrchestrator({
        env: BOTH_KEYS_ENV,
        clock: createManualClock(T0),
        providerPriority: 'prefer-openai',
        providers: { openai: { rolloutPercent: percent } },
        limits: { openai: { maxConcurrent: 1_000 }, claude: { maxConcurrent: 1_000 } },
      });
      await orch.start();
      return orch;
    }

    it('should send an agent the same way in every orchestrator, as its bucket says', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `agent-${i}`);
      const landings: string[][] = [];
      for (let round = 0; round < 2; round += 1) {
        const orch = await canary(30);
        const providers: string[] = [];
        for (const agentId of ids) {
          const agent = await orch.spawnAgent({ estimatedTokens: 100, agentId });
          providers.push(agent.provider);
          await agent.release();
        }
        landings.push(providers);
        await orch.stop();
      }
      expect(landings[1]).toEqual(landings[0]);
      expect(landings[0]).toEqual(ids.map((id) => (rolloutBucket('openai', id) < 30 ? 'openai' : 'claude')));
      expect(new Set(landings[0])).toEqual(new Set(['openai', 'claude']));
    });

    it('should put about the given share of many agents on the canary provider', async () => {
      const orch = await canary(20);
      let onOpenai = 0;
      for (let i = 0; i < 2_000; i += 1) {
        const agent = await orch.spawnAgent({ estimatedTokens: 10, agentId: `worker-${i}` });
        if (agent.provider === 'openai') onOpenai += 1;
        await agent.release();
      }
      // 20% of 2,000 is 400; a fair hash stays within ±60 (3 standard deviations is ±54).
      expect(onOpenai).toBeGreaterThanOrEqual(340);
      expect(onOpenai).toBeLessThanOrEqual(460);
      expect(orch.stats().providers.openai.rolloutPercent).toBe(20);
      await orch.stop();
    });

    it('should spread buckets evenly over 0-99 and keep providers independent', () => {
      const counts = new Array<number>(10).fill(0);
      let same = 0;
      for (let i = 0; i < 10_000; i += 1) {
        const b = rolloutBucket('openai', `a${i}`);
        counts[Math.floor(b / 10)]! += 1;
        if (b === rolloutBucket('claude', `a${i}`)) same += 1;
      }
      for (const c of counts) expect(Math.abs(c - 1_000)).toBeLessThan(120);
      expect(same).toBeLessThan(200);
      expect(rolloutBucket('openai', 'agent-7')).toBe(rolloutBucket('openai', 'agent-7'));
    });

    it('should never admit onto a 0% provider, keep sessions outside the canary off it on fallback, and name the share when nothing is left', async () => {
      const orch = await canary(0);
      const agent = await orch.spawnAgent({ estimatedTokens: 100, agentId: 'outside' });
      expect(agent.provider).toBe('claude');
      // Outside the canary, openai is not in its chain either: an overload is retried on claude.
      expect(await agent.reportFailure({ status: 529 })).toMatchObject({
        action: 'retry',
        kind: 'overloaded',
        provider: 'claude',
      });
      expect(orch.stats().providers.openai.active).toBe(0);
      const error = await agentvisorErrorOf(
        () =>
          orch.spawnAgent({
            estimatedTokens: 100,
            agentId: 'pinned',
            preferredProvider: 'openai',
            whenPreferredBusy: 'wait',
          }),
        'no-provider',
      );
      expect(error.message).toContain(
        'openai admits 0% of agents and this one is outside that share (providers.openai.rolloutPercent)',
      );
      await orch.stop();
    });
  });
});
