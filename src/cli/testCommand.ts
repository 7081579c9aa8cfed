import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { Secret } from '../../machines/secret';
import { CHATGPT_ENV, CLAUDE_OAUTH_ENV, createCredentialResolver, verifyKey } from '../credentials';
import type { CredentialClass, EnvSource, KeyVerdict } from '../credentials';
import { isAgentvisorError } from '../errors';
import { resolveProviderSwitches } from '../orchestrator/providerSwitches';
import type { ProviderSwitch, ProviderSwitchOptions } from '../orchestrator/providerSwitches';
import { PROVIDERS, PROVIDER_IDS, safeFailureMessage } from '../providers';
import type { ProviderId } from '../providers';
import { commandContext, emit } from './context';
import { maskUrl } from './displayUrl';
import { describeSwitch } from './statusCommands';
import { renderTable } from './table';

/** What `agentvisor test` found for one provider. `not-configured`: no credential; `skipped`: a credential the public API does not take (a ChatGPT login). */
export type ProviderCheckVerdict = KeyVerdict | 'not-configured' | 'skipped';

export interface ProviderCheck {
  readonly provider: ProviderId;
  readonly displayName: string;
  readonly verdict: ProviderCheckVerdict;
  /** Whether this check counts as passed (`ok`, or a provider nobody asked about that has no credential). */
  readonly passed: boolean;
  /** The credential tested, without its secret. */
  readonly credential: {
    readonly source: string;
    readonly kind: 'api-key' | 'oauth';
    readonly hint: string;
    readonly credentialClass: CredentialClass;
  } | null;
  /** The subscription tier when the credential names one (Claude Pro / Max logins), else null. */
  readonly tier: string | null;
  /** The API location called (the base URL variable when set; user info, query and fragment masked). */
  readonly url: string | null;
  readonly switch: ProviderSwitch;
  readonly status: number | null;
  readonly latencyMs: number | null;
  readonly remaining: { readonly requests?: number; readonly tokens?: number } | null;
  readonly limits: { readonly requests?: number; readonly tokens?: number } | null;
  readonly retryAfterMs: number | null;
  /** What went wrong (the provider's words, any key shown as its hint), or null. */
  readonly message: string | null;
}

export interface TestResult {
  /** True when every configured provider that was checked answered `ok` (and at least one was checked). */
  readonly ok: boolean;
  readonly results: readonly ProviderCheck[];
}

export interface ProviderCheckOptions {
  readonly providers: readonly ProviderId[];
  /** Whether the providers were named (`--provider claude`): then one without credentials fails. */
  readonly named: boolean;
  readonly home: string;
  readonly claudeHome: string;
  readonly env: EnvSource;
  /**
   * The `providers` switches (the config file's `providers`, as `run` and `status` read them);
   * AGENTVISOR_DISABLE_PROVIDERS in `env` switches a provider off too. A switched-off provider is
   * still checked; its `switch` says why it is off. @default {}
   */
  readonly switches?: Partial<Record<ProviderId, ProviderSwitchOptions>>;
  /** @default 10000 */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

const PASSING: ReadonlySet<ProviderCheckVerdict> = new Set(['ok', 'skipped']);

/** The secret a session of this provider would carry to its API, and how (the credential resolver's env for agents). */
function apiSecret(provider: ProviderId, secretEnv: Readonly<Record<string, Secret>>): Secret | 'chatgpt' | null {
  if (secretEnv[CHATGPT_ENV.accessToken] !== undefined) return 'chatgpt';
  const names =
    provider === 'claude' ? [CLAUDE_OAUTH_ENV, ...PROVIDERS.claude.agentKeyEnv] : PROVIDERS.openai.agentKeyEnv;
  for (const name of names) {
    const secret = secretEnv[name];
    if (secret !== undefined) return secret;
  }
  return null;
}

/**
 * Checks each provider live with the credential agentvisor would hand an agent (the credential
 * resolver, refreshing a login that is about to expire, as a session would): `GET /v1/models` at
 * `ANTHROPIC_BASE_URL` / `OPENAI_BASE_URL` when set, with the provider's headers. Each result
 * carries the provider's switch (`switches`, then AGENTVISOR_DISABLE_PROVIDERS). Never throws for
 * what the network or the provider does, and never returns a secret.
 *
 * @example
 * const { ok, results } = await checkProviders({
 *   providers: ['claude', 'openai'], named: false, home, claudeHome, env: process.env, switches: { openai: { enabled: false } },
 * });
 * for (const r of results) console.log(r.provider, r.verdict, r.latencyMs, r.remaining?.tokens);
 */
export async function checkProviders(options: ProviderCheckOptions): Promise<TestResult> {
  const resolver = createCredentialResolver({ env: options.env, home: options.home, claudeHome: options.claudeHome });
  await resolver.load();
  const switches = resolveProviderSwitches(options.switches, options.env);
  const results = await Promise.all(
    options.providers.map((provider) => checkOne(provider, resolver, switches[provider], options)),
  );
  const checked = results.filter((r) => r.verdict !== 'not-configured' || options.named);
  return { ok: checked.length > 0 && results.every((r) => r.passed), results };
}

async function checkOne(
  provider: ProviderId,
  resolver: ReturnType<typeof createCredentialResolver>,
  providerSwitch: ProviderSwitch,
  options: ProviderCheckOptions,
): Promise<ProviderCheck> {
  const spec = PROVIDERS[provider];
  const described = resolver.describe(provider);
  const base = {
    provider,
    displayName: spec.displayName,
    credential: described && {
      source: described.source,
      kind: described.kind,
      hint: described.hint,
      credentialClass: described.credentialClass,
    },
    tier: described?.tier ?? null,
    url: null,
    switch: providerSwitch,
    status: null,
    latencyMs: null,
    remaining: null,
    limits: null,
    retryAfterMs: null,
  } as const;
  if (described === null) {
    const message = `no ${spec.displayName} credentials: run \`agentvisor login ${provider} --api-key -\` or set ${spec.apiKeyEnv[0]}`;
    return { ...base, verdict: 'not-configured', passed: !options.named, message };
  }
  let secret: Secret | 'chatgpt' | null;
  let baseUrl: string | undefined;
  try {
    const auth = await resolver.authenticate({ provider, sessionId: 'agentvisor-test', agentId: 'agentvisor-test' });
    secret = apiSecret(provider, auth.secretEnv);
    baseUrl = auth.env[spec.baseUrlEnv];
  } catch (error) {
    if (!isAgentvisorError(error)) throw error;
    return { ...base, verdict: 'auth-failed', passed: false, message: safeFailureMessage(error.message) };
  }
  if (secret === 'chatgpt' || secret === null) {
    const message =
      'a ChatGPT login authenticates the Codex CLI, not the public OpenAI API: ' +
      'there is nothing to check at /v1/models (set OPENAI_API_KEY to check an API key)';
    return { ...base, verdict: 'skipped', passed: true, message };
  }
  const url = maskUrl(baseUrl ?? (provider === 'claude' ? 'https://api.anthropic.com' : 'https://api.openai.com'));
  try {
    const v = await verifyKey({
      provider,
      secret,
      ...(baseUrl === undefined ? {} : { baseUrl }),
      timeoutMs: options.timeoutMs ?? 10_000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    return {
      ...base,
      url,
      verdict: v.verdict,
      passed: PASSING.has(v.verdict),
      status: v.status ?? null,
      latencyMs: v.latencyMs,
      remaining: v.remaining ?? null,
      limits: v.limits ?? null,
      retryAfterMs: v.retryAfterMs ?? null,
      message: v.message ?? null,
    };
  } catch (error) {
    // verifyKey throws only for bad options: here, a base URL it cannot use.
    if (!isAgentvisorError(error)) throw error;
    return { ...base, url, verdict: 'unreachable', passed: false, message: `${spec.baseUrlEnv}: ${error.message}` };
  }
}

function providerChoice(value: string): ProviderId | 'all' {
  if (value === 'all' || (PROVIDER_IDS as readonly string[]).includes(value)) return value as ProviderId | 'all';
  throw new InvalidArgumentError(`expected ${[...PROVIDER_IDS, 'all'].join(', ')}`);
}

function timeoutChoice(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 600_000)
    throw new InvalidArgumentError('expected a whole number of milliseconds from 1 to 600000');
  return n;
}

const VERDICT_TEXT: Readonly<Record<ProviderCheckVerdict, string>> = {
  ok: 'ok',
  'auth-failed': 'auth failed',
  'rate-limited': 'rate-limited',
  unreachable: 'unreachable',
  timeout: 'timeout',
  'server-error': 'server error',
  'not-configured': 'not configured',
  skipped: 'skipped',
};

function leftOf(r: ProviderCheck, what: 'requests' | 'tokens'): string {
  const left = r.remaining?.[what];
  if (left === undefined) return '-';
  const limit = r.limits?.[what];
  return limit === undefined
    ? left.toLocaleString('en-US')
    : `${left.toLocaleString('en-US')} / ${limit.toLocaleString('en-US')}`;
}

/** Lines for people: a table, then one line per provider that did not pass, with what to do. */
export function describeChecks(result: TestResult): string[] {
  const table = renderTable(
    [
      'provider',
      'verdict',
      'status',
      'latency',
      'credential',
      'tier',
      'requests left',
      'tokens left',
      'enabled',
      'API',
    ],
    result.results.map((r) => [
      r.provider,
      VERDICT_TEXT[r.verdict],
      r.status === null ? '-' : String(r.status),
      r.latencyMs === null ? '-' : `${Math.round(r.latencyMs)} ms`,
      r.credential ? `${r.credential.source} (${r.credential.hint})` : 'none',
      r.tier ?? r.credential?.credentialClass ?? '-',
      leftOf(r, 'requests'),
      leftOf(r, 'tokens'),
      describeSwitch(r.switch),
      r.url ?? '-',
    ]),
  );
  const notes = result.results
    .filter((r) => r.message !== null && r.verdict !== 'ok')
    .map(
      (r) =>
        `${r.provider}: ${VERDICT_TEXT[r.verdict]}: ${r.message}${r.retryAfterMs === null ? '' : ` (retry after ${Math.ceil(r.retryAfterMs / 1000)} s)`}`,
    );
  const summary = result.ok
    ? 'Every configured provider answered.'
    : result.results.every((r) => r.verdict === 'not-configured')
      ? 'No provider has credentials to check.'
      : 'A configured provider did not answer ok.';
  return [table, '', ...notes, ...(notes.length > 0 ? [''] : []), summary];
}

export function addTestCommand(program: Command): void {
  program
    .command('test')
    .description(
      'check each configured provider live with the credentials agents would get: GET /v1/models, ' +
        'verdict, latency, tier, remaining rate limits (never a secret)',
    )
    .addOption(new Option('--provider <provider>', 'claude, openai or all').argParser(providerChoice).default('all'))
    .addOption(
      new Option('--timeout <ms>', 'give up on a provider after this long').argParser(timeoutChoice).default(10_000),
    )
    .action(async (opts: { provider: ProviderId | 'all'; timeout: number }, command: Command) => {
      const context = commandContext(command);
      const providers = opts.provider === 'all' ? [...PROVIDER_IDS] : [opts.provider];
      const switches = context.config?.settings.providers;
      const result = await checkProviders({
        providers,
        named: opts.provider !== 'all',
        home: context.home,
        claudeHome: context.claudeHome,
        env: process.env,
        timeoutMs: opts.timeout,
        ...(switches === undefined ? {} : { switches }),
      });
      emit(context, result, () => describeChecks(result));
      if (!result.ok) process.exitCode = 1;
    });
}
