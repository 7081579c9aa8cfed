import type { ProviderId } from '../../machines/providers';
import type { Secret } from '../../machines/secret';
import { AgentvisorError } from '../errors';
import { claudeAuthTokens, claudeCodeTokens, codexTokens } from '../oauth';
import type { FoundCredential } from './credentialTypes';
import { readClaudeAuth } from './sources/claudeAuthFile';
import { claudeCodeLogin, readClaudeCodeCredentials } from './sources/claudeCodeCredentials';
import { readClaudeCodeKeychain } from './sources/claudeCodeKeychain';
import { readCodexAuth } from './sources/codexAuthFile';
import type { StoredCredentialSource } from './credentialSource';

interface ReadCredential {
  readonly provider: ProviderId;
  readonly kind: 'api-key' | 'oauth';
  readonly source: string;
  readonly hint: string;
  readonly secret: Secret;
  readonly expiresAt?: number | null;
  readonly tier?: string | null;
}

function asFound(c: ReadCredential): FoundCredential {
  return {
    provider: c.provider,
    kind: c.kind,
    source: c.source,
    hint: c.hint,
    secret: c.secret,
    expiresAt: c.expiresAt ?? null,
    tier: c.tier ?? null,
  };
}

/** What a stored source is besides its `load`: it reads one place for one provider, and says where it looked by its id. */
function storedAt(id: StoredCredentialSource['id'], provider: ProviderId): Omit<StoredCredentialSource, 'load'> {
  return { id, live: false, provider, lookedAt: () => id };
}

/**
 * `claude-auth-file`: claude_auth.json in the home (ours): its API key, then its OAuth login (refreshed when it has a refresh token).
 *
 * @example await claudeAuthFileSource.load(context);
 */
export const claudeAuthFileSource: StoredCredentialSource = {
  ...storedAt('claude-auth-file', 'claude'),
  async load({ options, readOptions, refreshable }) {
    const auth = await readClaudeAuth(options.home, readOptions);
    if (!auth) return null;
    const found: FoundCredential[] = auth.apiKey ? [asFound(auth.apiKey)] : [];
    if (auth.oauth)
      found.push(refreshable(asFound(auth.oauth), auth.file, auth.oauth.refreshToken !== null, claudeAuthTokens));
    return { found, warnings: auth.warnings };
  },
};

/**
 * `codex-auth-file`: Codex's auth.json: OPENAI_API_KEY and the ChatGPT login, in the order its `auth_mode` says.
 *
 * @example await codexAuthFileSource.load(context);
 */
export const codexAuthFileSource: StoredCredentialSource = {
  ...storedAt('codex-auth-file', 'openai'),
  async load({ options, readOptions, refreshable }) {
    const auth = await readCodexAuth(options.home, readOptions);
    if (!auth) return null;
    const found: FoundCredential[] = auth.apiKey ? [asFound(auth.apiKey)] : [];
    if (auth.chatgpt) {
      const chatgpt = {
        ...asFound(auth.chatgpt),
        chatgpt: { idToken: auth.chatgpt.idToken, accountId: auth.chatgpt.accountId },
      };
      const login = refreshable(
        chatgpt,
        auth.file,
        auth.chatgpt.refreshToken !== null && options.oauth?.refreshCodex === true,
        codexTokens,
      );
      // Codex's own auth_mode says which of the two its user chose; without one the API key comes first.
      if (auth.authMode === 'chatgpt') found.unshift(login);
      else found.push(login);
    }
    return { found, warnings: auth.warnings };
  },
};

/**
 * `claude-code`: Claude Code's login, on macOS from its Keychain item first, else from ~/.claude/.credentials.json.
 *
 * @example await claudeCodeSource.load(context);
 */
export const claudeCodeSource: StoredCredentialSource = {
  ...storedAt('claude-code', 'claude'),
  async load({ options, readOptions, refreshable }) {
    const warnings: string[] = [];
    // Claude Code on macOS keeps its login in the Keychain and falls back to the file: so do we.
    const keychain =
      (options.platform ?? process.platform) === 'darwin'
        ? await readClaudeCodeKeychain({ env: options.env, timeoutMs: options.keychainTimeoutMs })
        : null;
    if (keychain?.status === 'found') {
      const where = `keychain:${keychain.service}`;
      const login = claudeCodeLogin(keychain.data, { file: where, source: where });
      if (login?.refreshToken && options.oauth?.refreshClaudeCode === true) {
        warnings.push(
          `refreshClaudeCode does not apply to Claude Code's login in the macOS Keychain (${keychain.service}): ` +
            'agentvisor does not write to the Keychain; Claude Code renews that login itself when it runs.',
        );
      }
      // Never refreshed here: no refresher, so an expired Keychain login is passed over with a reason.
      return { found: login ? [asFound(login)] : [], warnings };
    }
    const creds = await readClaudeCodeCredentials(options.claudeHome, readOptions);
    if (keychain !== null && keychain.status !== 'missing') {
      if (!creds?.oauth)
        throw new AgentvisorError('credentials-io', keychain.message, {
          details: { source: 'keychain', service: keychain.service, reason: `keychain-${keychain.status}` },
        });
      warnings.push(`${keychain.message} Using ${creds.file} instead.`);
    }
    if (!creds) return null;
    warnings.push(...creds.warnings);
    if (!creds.oauth) return { found: [], warnings };
    return {
      found: [
        refreshable(
          asFound(creds.oauth),
          creds.file,
          creds.oauth.refreshToken !== null && options.oauth?.refreshClaudeCode === true,
          claudeCodeTokens,
        ),
      ],
      warnings,
    };
  },
};
