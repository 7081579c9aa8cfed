import type { ProviderId } from '../../../machines/providers';
import type { Secret } from '../../../machines/secret';
import type { PermissionPolicy } from '../../storage/secureStore';

/** How a credential authenticates: a long-lived API key, or an OAuth access token (subscription login). */
export type CredentialKind = 'api-key' | 'oauth';

interface CredentialBase {
  readonly provider: ProviderId;
  /** Where it came from, e.g. `file:claude_auth.json` (the file's name; `file` has the full path). */
  readonly source: string;
  /** The absolute path of the file it was read from. */
  readonly file: string;
  /** The key or access token. Secrets live only inside `Secret` objects. */
  readonly secret: Secret;
  /** A non-secret hint for people (`keyHint`): the known prefix and the last four characters. */
  readonly hint: string;
}

export interface ApiKeyCredential extends CredentialBase {
  readonly kind: 'api-key';
}

export interface OAuthCredential extends CredentialBase {
  readonly kind: 'oauth';
  /** `null` when the file holds no refresh token (the access token then cannot be renewed). */
  readonly refreshToken: Secret | null;
  /** When the access token expires, epoch ms; `null` when the file does not say. */
  readonly expiresAt: number | null;
  /** The subscription tier or plan (`max`, `pro`, `plus`, `team`...), as the file names it; `null` when unknown. */
  readonly tier: string | null;
  /** The OAuth scopes granted, when the file lists them. */
  readonly scopes: readonly string[];
}

/** One credential found in a file. Discriminate on `kind`. */
export type SourceCredential = ApiKeyCredential | OAuthCredential;

export interface SourceReadOptions {
  /** What to do when the file is readable by its group or others. Default `'error'` (see `readJsonFile`). */
  readonly permissions?: PermissionPolicy;
  /** A path through a symlink must resolve inside this folder. Default `os.homedir()`. */
  readonly userHome?: string;
}

/** What every reader returns besides its own fields. */
export interface SourceFileResult {
  /** The absolute path that was read. */
  readonly file: string;
  /** Non-fatal findings (loose permissions under `'warn'`, an unreadable id_token...); never secret. */
  readonly warnings: readonly string[];
}

/** Where a session's environment comes from: `process.env` or a record of the same shape. */
export type EnvSource = Readonly<Record<string, string | undefined>>;
