import type { ProviderId } from '../../machines/providers';
import type { TokenFileFormat } from '../oauth';
import type { CredentialResolverOptions, CredentialSourceId, FoundCredential } from './credentialTypes';
import type { SourceReadOptions } from './sources/types';

/** A value a live source found; the resolver wraps it (hint, `Secret`) and reuses the wrapper while the value stays the same. */
export interface LiveValue {
  readonly kind: 'api-key' | 'oauth';
  /** `options.apiKeys.claude`, `env:ANTHROPIC_API_KEY`, … */
  readonly source: string;
  readonly value: string;
}

/** What a stored source reads with. */
export interface SourceLoadContext {
  readonly options: CredentialResolverOptions;
  readonly readOptions: SourceReadOptions;
  /** Gives an OAuth login its refresher through `file`; returns it unchanged when `canRefresh` is false. */
  refreshable(credential: FoundCredential, file: string, canRefresh: boolean, format: TokenFileFormat): FoundCredential;
}

/** What a stored source read: its credentials, the preferred first, and warnings (never secret). */
export interface SourceLoad {
  readonly found: readonly FoundCredential[];
  readonly warnings: readonly string[];
}

interface CredentialSourceBase {
  readonly id: CredentialSourceId;
  /** What an `auth-failed` message lists as looked at for `provider`. */
  lookedAt(provider: ProviderId): string;
}

/** Options and the env: read again on every authentication, synchronously, so a changed variable counts at once. */
export interface LiveCredentialSource extends CredentialSourceBase {
  readonly live: true;
  find(provider: ProviderId, options: CredentialResolverOptions): readonly LiveValue[];
}

/**
 * A file or the Keychain: read by the resolver's `load()`. It resolves null when there is nothing to read and
 * rejects with an AgentvisorError for something it cannot use (the resolver reports it as a problem of the source).
 */
export interface StoredCredentialSource extends CredentialSourceBase {
  readonly live: false;
  /** The provider its credentials are for. */
  readonly provider: ProviderId;
  load(context: SourceLoadContext): Promise<SourceLoad | null>;
}

/**
 * One place credentials come from. The resolver walks a list of them in the order of precedence
 * (`CREDENTIAL_SOURCE_LIST`), first usable credential wins.
 *
 * @example
 * const source: CredentialSource = { id: 'options', live: true, lookedAt: (p) => `apiKeys.${p}`, find: () => [] };
 */
export type CredentialSource = LiveCredentialSource | StoredCredentialSource;
