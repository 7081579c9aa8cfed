import { PROVIDER_IDS } from '../../machines/providers';
import type { ProviderId } from '../../machines/providers';
import { createCredentialResolver, rankProviders } from '../credentials';
import type { Authenticate, CredentialClass, CredentialResolver } from '../credentials';
import type { ResolvedOptions } from './options';
import { excludedFor, hasActiveSwitch } from './providerSwitches';
import type { Exclusion } from './providerSwitches';
import type { CheckedSpawn } from './validation';

/** Where a spawn starts, and whether it may be admitted further down the chain when that provider is full. */
export interface Placement {
  readonly preferredProvider: ProviderId | null;
  readonly onlyPreferred: boolean;
}

/** A spawn's placement and the providers the switches keep from it (absent `allowedProviders`: every provider). */
export interface SpawnPlacement extends Placement {
  readonly excluded: readonly Exclusion[];
  readonly allowedProviders?: readonly ProviderId[];
}

/** No switch keeps any provider from the agent (shared, so the common spawn allocates nothing). */
const NO_EXCLUSIONS: readonly Exclusion[] = Object.freeze([]);

/** The order sessions that name no provider try providers in, and each provider's credential class (no secrets). */
export interface ProviderOrder {
  readonly order: readonly ProviderId[];
  readonly credentials: Readonly<Record<ProviderId, CredentialClass | null>>;
}

/**
 * The credentials an orchestrator found at start and the provider order they give: the provider
 * priority policy ranks the chain's providers by credential class (no secrets are read here).
 *
 * @example
 * const placement = new ProviderPlacement(options);
 * const authenticate = await placement.loadCredentials();
 * placement.placement(checkSpawn({ estimatedTokens: 1000 }), undefined); // { preferredProvider: 'claude', onlyPreferred: false }
 */
export class ProviderPlacement {
  readonly #options: ResolvedOptions;
  /** Whether a provider switch can keep a provider from some agent (else spawns skip the check). */
  readonly #switchesActive: boolean;
  #resolver: CredentialResolver | null = null;
  #startCache: {
    readonly classes: Readonly<Record<ProviderId, CredentialClass | null>>;
    readonly provider: ProviderId | null;
  } | null = null;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#switchesActive = hasActiveSwitch(options.switches);
  }

  /** Where the agent's spawn starts, on the providers the switches leave it. */
  place(checked: CheckedSpawn, agentId: string): SpawnPlacement {
    const excluded = this.#switchesActive ? excludedFor(this.#options.switches, agentId) : NO_EXCLUSIONS;
    if (excluded.length === 0) return { excluded, ...this.placement(checked, undefined) };
    const allowedProviders = PROVIDER_IDS.filter((p) => !excluded.some((e) => e.provider === p));
    return { excluded, ...this.placement(checked, allowedProviders), allowedProviders };
  }

  /** Reads the credential files once at start; problems are logged and reported when a provider is used. */
  async loadCredentials(): Promise<Authenticate> {
    const o = this.#options;
    const resolver = createCredentialResolver({
      env: o.env,
      apiKeys: o.apiKeys,
      home: o.home,
      claudeHome: o.claudeHome,
      sources: o.credentialSources,
      permissions: o.credentialPermissions,
      now: () => o.clock.now(),
      oauth: o.oauth,
    });
    const report = await resolver.load();
    this.#resolver = resolver;
    for (const warning of report.warnings) o.logger?.warn({ warning }, 'credentials');
    for (const { source, code, message } of report.problems)
      o.logger?.warn({ source, code, problem: message }, 'credential source unusable');
    return resolver.authenticate;
  }

  /**
   * Where a spawn starts, and whether it may be admitted further down the chain when that provider
   * is full. A session the switches keep from a provider starts on the first one it may use.
   */
  placement(checked: CheckedSpawn, allowed: readonly ProviderId[] | undefined): Placement {
    const preferredProvider = checked.preferredProvider ?? this.#startProvider(allowed);
    const onlyPreferred = (checked.whenPreferredBusy ?? this.#options.whenPreferredBusy) === 'wait';
    const head =
      allowed === undefined
        ? this.#options.fallbackChain[0]
        : this.#options.fallbackChain.find((p) => allowed.includes(p));
    return {
      preferredProvider: onlyPreferred ? (preferredProvider ?? head ?? null) : preferredProvider,
      onlyPreferred,
    };
  }

  /** The order sessions that name no provider try providers in, and each provider's credential class (no secrets). */
  providerOrder(): ProviderOrder {
    const credentials = this.#resolver?.credentialClasses() ?? { claude: null, openai: null };
    const chain = this.#options.fallbackChain;
    const first = this.#startProvider();
    const order = first === null ? [...chain] : [first, ...chain.filter((p) => p !== first)];
    return { order, credentials };
  }

  /** The provider priority policy's pick among the chain's providers (those allowed), or null for the head of the chain. */
  #startProvider(allowed?: readonly ProviderId[]): ProviderId | null {
    const policy = this.#options.providerPriority;
    const resolver = this.#resolver;
    if (policy === null || resolver === null)
      return allowed === undefined ? null : (this.#options.fallbackChain.find((p) => allowed.includes(p)) ?? null);
    const classes = resolver.credentialClasses();
    // The same classes rank the same way: one ranking per change of credentials, not one per spawn.
    if (allowed === undefined && this.#startCache?.classes === classes) return this.#startCache.provider;
    const chain =
      allowed === undefined
        ? this.#options.fallbackChain
        : this.#options.fallbackChain.filter((p) => allowed.includes(p));
    const provider = rankProviders(policy, classes, chain).find((p) => chain.includes(p)) ?? null;
    if (allowed === undefined) this.#startCache = { classes, provider };
    return provider;
  }
}
