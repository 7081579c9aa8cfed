import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { Argument } from 'commander';
import type { Command } from 'commander';
import {
  checkClaudeAuthContent,
  checkCodexAuthContent,
  CLAUDE_AUTH_FILE,
  CLAUDE_AUTH_SCHEMA_VERSION,
  CODEX_AUTH_FILE,
  assertKeyFormat,
  createCredentialResolver,
  recordStoredKey,
  updateJsonFile,
} from '../credentials';
import type { JsonRecord } from '../credentials';
import { AgentvisorError, isAgentvisorError } from '../errors';
import { CLAUDE_OAUTH_DEFAULTS, saveClaudeLogin, startPkceLogin } from '../oauth';
import { recordCliAudit } from '../observability';
import { PROVIDERS, keyHint } from '../providers';
import type { ProviderId } from '../providers';
import { commandContext, emit, note } from './context';
import type { CommandContext } from './context';
import { MAX_STDIN_KEY_BYTES, readBoundedStream } from '../storage/boundedRead';
import { OWNED_KEYS, logout, printLogout } from './logoutCommand';

export { OWNED_KEYS } from './logoutCommand';
export type { LogoutEntry, LogoutResult } from './logoutCommand';

const STORED_KEY: Record<ProviderId, 'ANTHROPIC_API_KEY' | 'OPENAI_API_KEY'> = {
  claude: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
};

export interface LoginResult {
  readonly ok: true;
  readonly provider: ProviderId;
  readonly kind: 'api-key';
  /** The JSON key written, in `file`. */
  readonly stored: string;
  readonly file: string;
  readonly hint: string;
  /** Whether the orchestrator would now use this key (an env variable or an earlier source may win). */
  readonly inUse: boolean;
  /** The source the orchestrator would use for this provider now, or null. */
  readonly activeSource: string | null;
  readonly warnings: readonly string[];
}

const discard = new Writable({
  write(_chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
    callback();
  },
});

function stdinTooLong(): AgentvisorError {
  return new AgentvisorError(
    'invalid-option',
    `the key read from stdin is longer than ${MAX_STDIN_KEY_BYTES / 1024} KB; pipe in the key alone (API keys are a few hundred bytes). Nothing was stored.`,
    {
      details: { option: 'api-key', reason: 'too-long', maxBytes: MAX_STDIN_KEY_BYTES },
    },
  );
}

/** Reads a key from stdin: one line without echo on a terminal, else everything piped in (one trailing line break dropped), at most 64 KB. */
async function readKeyFromStdin(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write('Paste the key and press Enter (it is not shown): ');
    const rl = readline.createInterface({ input: stdin, output: discard, terminal: true });
    const line = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    rl.close();
    process.stderr.write('\n');
    if (Buffer.byteLength(line) > MAX_STDIN_KEY_BYTES) throw stdinTooLong();
    return line;
  }
  const { text, overLimit } = await readBoundedStream(stdin as AsyncIterable<Buffer | string>, MAX_STDIN_KEY_BYTES);
  if (overLimit) throw stdinTooLong();
  return text.replace(/\r?\n$/, '');
}

async function keyFrom(option: string | undefined, provider: ProviderId): Promise<string> {
  if (option === undefined) {
    throw new AgentvisorError(
      'invalid-option',
      `login ${provider} needs --api-key <key> (or --api-key - to read it from stdin, which keeps it out of your shell history)`,
      {
        details: { option: 'api-key' },
      },
    );
  }
  return option === '-' ? readKeyFromStdin() : option;
}

/** The stored credential the orchestrator would pick now, to tell people whether the new key wins. */
async function activeSource(context: CommandContext, provider: ProviderId): Promise<string | null> {
  const resolver = createCredentialResolver({ env: process.env, home: context.home, claudeHome: context.claudeHome });
  await resolver.load();
  return resolver.describe(provider)?.source ?? null;
}

/**
 * The library's refusal of a key's shape, said for `login`: what to store instead, never an OAuth
 * access token (which `login` refuses) and never the key, at most its hint.
 *
 * @example loginRefusal('claude', 'sk-ant-ort01-…', error).message // '… agentvisor login claude --oauth …'
 */
function loginRefusal(provider: ProviderId, key: string, error: AgentvisorError): AgentvisorError {
  const hint = keyHint(key, PROVIDERS[provider].keyPrefix);
  const other: ProviderId = provider === 'claude' ? 'openai' : 'claude';
  const problem = error.details.problem;
  let message = error.message;
  if (problem === 'empty') message = `${message}: give it as --api-key <key>, or pipe the key in with --api-key -`;
  else if (problem === 'too-short') message = `${message}: paste the whole key`;
  else if (problem === 'wrong-provider') {
    const remedy = message.includes('OAuth access token')
      ? 'sign in with `agentvisor login claude --oauth` instead'
      : `store it with \`agentvisor login ${other}\``;
    message = message.replace(/; give it for provider '\w+'$/, `: ${remedy}`);
  } else if (problem === 'refresh-token')
    message =
      `${hint} is a Claude OAuth refresh token (sk-ant-ort…), not an API key: give an API key (sk-ant-api03-…), ` +
      'or sign in with `agentvisor login claude --oauth` (or with Claude Code, whose login agentvisor reads)';
  else if (problem === 'unknown-format' && provider === 'claude')
    message = `the ${PROVIDERS.claude.displayName} key ${hint} is not an Anthropic API key (sk-ant-api03-…)`;
  return new AgentvisorError(error.code, message, { details: error.details });
}

async function login(context: CommandContext, provider: ProviderId, key: string): Promise<LoginResult> {
  let kind;
  try {
    kind = assertKeyFormat(provider, key);
  } catch (error) {
    throw isAgentvisorError(error) ? loginRefusal(provider, key, error) : error;
  }
  const hint = keyHint(key, PROVIDERS[provider].keyPrefix);
  if (kind !== 'api-key') {
    throw new AgentvisorError(
      'invalid-option',
      `${hint} is a Claude OAuth access token (sk-ant-oat01-…), not an API key: ` +
        `it expires within hours and cannot be refreshed without its refresh token. ` +
        `Give an API key (sk-ant-api03-…), or sign in with Claude Code, whose login agentvisor reads.`,
      { details: { provider, problem: 'oauth-access-token' } },
    );
  }
  const { file: name } = OWNED_KEYS[provider];
  const file = path.resolve(context.home, name);
  const stored = STORED_KEY[provider];
  // Codex's auth.json is not ours: remember which key we put there, so logout takes only that one.
  if (provider === 'openai') await recordStoredKey(context.home, provider, { file: name, key: stored, value: key });
  const { warnings } = await updateJsonFile(file, (current) => {
    const next: JsonRecord = { ...(current ?? {}), [stored]: key };
    if (provider === 'claude') {
      const version = current?.schema_version;
      if (typeof version === 'number' && version > CLAUDE_AUTH_SCHEMA_VERSION) {
        throw new AgentvisorError(
          'invalid-credentials-file',
          `Credentials file ${file} has schema_version ${version}, newer than this agentvisor understands (${CLAUDE_AUTH_SCHEMA_VERSION}); ` +
            `upgrade agentvisor. Nothing was written.`,
          {
            details: { file, reason: 'schema-version-too-new' },
          },
        );
      }
      next.schema_version = CLAUDE_AUTH_SCHEMA_VERSION;
    }
    // A key stored beside fields the reader refuses would never be used: refuse, write nothing.
    if (provider === 'claude') checkClaudeAuthContent(file, next);
    else checkCodexAuthContent(file, next);
    return next;
  });
  const source = await activeSource(context, provider);
  await recordCliAudit(context, { event: 'auth.login', provider, reason: 'api-key', source: `file:${name}` });
  return {
    ok: true,
    provider,
    kind: 'api-key',
    stored,
    file,
    hint,
    inUse: source === `file:${name}`,
    activeSource: source,
    // The write gave the file mode 0600: a permission warning from before is now repaired.
    warnings: warnings.map((w) => `${w} (repaired: the file is now 0600)`),
  };
}

function printLogin(context: CommandContext, result: LoginResult): void {
  for (const w of result.warnings) note(`warning: ${w}`);
  emit(context, result, () => [
    `Stored the ${PROVIDERS[result.provider].displayName} API key ${result.hint} as ${result.stored} in ${result.file} (mode 0600).`,
    result.inUse
      ? `agentvisor will use it for ${result.provider}.`
      : `Note: agentvisor will use ${result.activeSource ?? 'another source'} for ${result.provider} first (it takes precedence); see \`agentvisor status\`.`,
  ]);
}

interface ClaudeLoginOptions {
  apiKey?: string;
  oauth?: boolean;
  open?: boolean;
  authorizeUrl: string;
  tokenEndpoint: string;
  clientId: string;
  timeout: string;
}

interface OAuthLoginResult {
  readonly ok: true;
  readonly provider: 'claude';
  readonly kind: 'oauth';
  readonly file: string;
  readonly hint: string;
  readonly expiresAt: string | null;
  readonly scope: string;
}

/** Opens a URL with the platform's opener, detached; failures only mean the user opens it by hand. */
function openInBrowser(url: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => note(`Could not start ${opener}; open the address above yourself.`));
  child.unref();
}

async function oauthLogin(context: CommandContext, opts: ClaudeLoginOptions): Promise<OAuthLoginResult> {
  const seconds = Number(opts.timeout);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
    throw new AgentvisorError(
      'invalid-option',
      `--timeout must be a whole number of seconds from 1 to 3600, got ${JSON.stringify(opts.timeout)}`,
      { details: { option: 'timeout' } },
    );
  }
  const handle = await startPkceLogin({
    authorizeUrl: opts.authorizeUrl,
    tokenEndpoint: opts.tokenEndpoint,
    clientId: opts.clientId,
    scopes: CLAUDE_OAUTH_DEFAULTS.scopes,
    timeoutMs: seconds * 1000,
    ...(opts.open === true ? { openBrowser: openInBrowser } : {}),
  });
  // The address carries no secret (the PKCE verifier never leaves this process).
  process.stderr.write(`Open this address in a browser to sign in (waiting up to ${seconds} s):\n${handle.url}\n`);
  const tokens = await handle.result;
  const saved = await saveClaudeLogin(context.home, tokens);
  await recordCliAudit(context, {
    event: 'auth.login',
    provider: 'claude',
    reason: 'oauth',
    source: `file:${CLAUDE_AUTH_FILE}`,
  });
  return {
    ok: true,
    provider: 'claude',
    kind: 'oauth',
    file: saved.file,
    hint: keyHint(tokens.accessToken.reveal(), 'sk-ant-oat01-'),
    expiresAt: tokens.expiresAt === null ? null : new Date(tokens.expiresAt).toISOString(),
    scope: tokens.scope,
  };
}

function printOAuthLogin(context: CommandContext, result: OAuthLoginResult): void {
  emit(context, result, () => [
    `Signed in to Claude: stored the login (${result.hint}) in ${result.file} (mode 0600).`,
    result.expiresAt
      ? `The access token expires at ${result.expiresAt}; agentvisor refreshes it before handing it to agents.`
      : 'The server gave no expiry for the access token.',
  ]);
}

export function addLoginCommands(program: Command): void {
  const loginCommand = program
    .command('login')
    .description('store an API key where agentvisor (and the agent CLIs) read it');

  loginCommand
    .command('claude')
    .description(`store an Anthropic API key as ANTHROPIC_API_KEY in <home>/${CLAUDE_AUTH_FILE} (mode 0600)`)
    .option('--api-key <key>', 'the Anthropic API key (sk-ant-api03-…); "-" reads it from stdin')
    .option('--oauth', 'sign in with a Claude subscription in the browser (PKCE, callback on 127.0.0.1)')
    .option('--open', 'with --oauth: open the sign-in page in the default browser')
    .option('--authorize-url <url>', 'with --oauth: the authorize endpoint', CLAUDE_OAUTH_DEFAULTS.authorizeUrl)
    .option('--token-endpoint <url>', 'with --oauth: the token endpoint', CLAUDE_OAUTH_DEFAULTS.tokenEndpoint)
    .option('--client-id <id>', 'with --oauth: the OAuth client id', CLAUDE_OAUTH_DEFAULTS.clientId)
    .option('--timeout <seconds>', 'with --oauth: how long to wait for the browser', '300')
    .action(async (opts: ClaudeLoginOptions, command: Command) => {
      const context = commandContext(command);
      if (opts.oauth === true && opts.apiKey !== undefined) {
        throw new AgentvisorError('invalid-option', 'give either --api-key or --oauth, not both', {
          details: { option: 'oauth' },
        });
      }
      if (opts.oauth === true) {
        printOAuthLogin(context, await oauthLogin(context, opts));
        return;
      }
      printLogin(context, await login(context, 'claude', await keyFrom(opts.apiKey, 'claude')));
    });

  loginCommand
    .command('openai')
    .description(
      `store an OpenAI API key as OPENAI_API_KEY in Codex's <home>/${CODEX_AUTH_FILE}, keeping everything else in it`,
    )
    .option('--api-key <key>', 'the OpenAI API key (sk-…); "-" reads it from stdin')
    .action(async (opts: { apiKey?: string }, command: Command) => {
      const context = commandContext(command);
      printLogin(context, await login(context, 'openai', await keyFrom(opts.apiKey, 'openai')));
    });

  program
    .command('logout')
    .description("remove the keys agentvisor stored (never Codex's or Claude Code's own logins)")
    .addArgument(new Argument('<provider>', 'which provider').choices(['claude', 'openai', 'all']))
    .action(async (which: ProviderId | 'all', _opts: unknown, command: Command) => {
      const context = commandContext(command);
      printLogout(context, await logout(context, which));
    });
}
