import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import os from 'node:os';

/**
 * Claude Code's login on macOS: a generic password in the login Keychain, read the way Claude Code
 * reads it (2.1.x): `security find-generic-password -a <account> -w -s <service>`, 10 s at most.
 * The item holds the JSON of `~/.claude/.credentials.json` (`claudeAiOauth`, `mcpOAuth`…).
 */
export const CLAUDE_CODE_KEYCHAIN_SERVICE = 'Claude Code-credentials';

/** Claude Code's own bound on the `security` call. */
const DEFAULT_TIMEOUT_MS = 10_000;
/** The item is a few kilobytes: anything much larger is not Claude Code's. */
const MAX_OUTPUT_BYTES = 1024 * 1024;
/** Claude Code's rule for the account name; other user names become its fallback account. */
const ACCOUNT_PATTERN = /^[a-zA-Z0-9._-]+$/;

/** The environment the item's name depends on, and where `security` is found. */
export type KeychainEnv = Readonly<Record<string, string | undefined>>;

/**
 * The item Claude Code uses in this environment: `Claude Code-credentials`, plus `-<8 hex>` (the
 * start of the SHA-256 of the config folder) when `CLAUDE_CONFIG_DIR` (or
 * `CLAUDE_SECURESTORAGE_CONFIG_DIR`) is set; the account is `$USER` (else the OS user name), or
 * `claude-code-user` when that name has other characters than letters, digits, `.`, `_`, `-`.
 *
 * @example claudeCodeKeychainItem({ USER: 'me' }) // { service: 'Claude Code-credentials', account: 'me' }
 */
export function claudeCodeKeychainItem(env: KeychainEnv): { readonly service: string; readonly account: string } {
  const storageDir = env.CLAUDE_SECURESTORAGE_CONFIG_DIR;
  const configDir = env.CLAUDE_CONFIG_DIR;
  const plain = storageDir !== undefined ? storageDir === '' : configDir === undefined || configDir === '';
  const hashed = (storageDir ?? configDir ?? '').normalize('NFC');
  const suffix = plain ? '' : `-${createHash('sha256').update(hashed).digest('hex').slice(0, 8)}`;
  let user: string;
  try {
    user = env.USER || os.userInfo().username;
  } catch {
    user = '';
  }
  return {
    service: `${CLAUDE_CODE_KEYCHAIN_SERVICE}${suffix}`,
    account: ACCOUNT_PATTERN.test(user) ? user : 'claude-code-user',
  };
}

/**
 * What reading the item gave. Every status but `found` carries a `message` that says what to do;
 * no outcome ever holds the item's text except `found`'s parsed `data`.
 * - `found`: the item's JSON object.
 * - `missing`: no such item (`security` exit 44, errSecItemNotFound): no Keychain login.
 * - `locked`: the Keychain is locked and may not prompt here (exit 36, errSecInteractionNotAllowed;
 *   an SSH session or a daemon).
 * - `denied`: the access prompt was denied or cancelled (exit 51 errSecAuthFailed, 128 errSecUserCanceled).
 * - `timeout`: no answer within `timeoutMs` (a prompt nobody answers); `security` was killed.
 * - `unavailable`: no `security` command on PATH.
 * - `unreadable`: the item is not a JSON object (nor hex-encoded JSON, as macOS 26 prints some items).
 * - `failed`: any other exit.
 */
export type KeychainOutcome =
  | {
      readonly status: 'found';
      readonly service: string;
      readonly account: string;
      readonly data: Readonly<Record<string, unknown>>;
    }
  | {
      readonly status: 'missing' | 'locked' | 'denied' | 'timeout' | 'unavailable' | 'unreadable' | 'failed';
      readonly service: string;
      readonly account: string;
      readonly message: string;
    };

export interface ClaudeCodeKeychainOptions {
  /** Where `security` is found (PATH), and what names the item (USER, CLAUDE_CONFIG_DIR). @default process.env */
  readonly env?: KeychainEnv;
  /** `security` is killed after this long (a Keychain prompt nobody answers). @default 10000 */
  readonly timeoutMs?: number;
}

/** How the `security` call ended. */
type SecurityRun =
  | { readonly kind: 'exit'; readonly code: number | null; readonly stdout: string; readonly stderr: string }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'too-large' };

/** The item's text as JSON: as written, or hex-encoded (what `security -w` prints on macOS 26 for some items). */
function parseItem(text: string): Record<string, unknown> | null {
  const candidates = [text];
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text)) candidates.push(Buffer.from(text, 'hex').toString('utf8'));
  for (const candidate of candidates) {
    try {
      const value: unknown = JSON.parse(candidate);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // The next form, or unreadable.
    }
  }
  return null;
}

/** Sorts a failed `security` call by its exit code, or by the message it printed (never quoted back). */
function failure(code: number | null, stderr: string): 'missing' | 'locked' | 'denied' | 'failed' {
  if (code === 44 || /could not be found/i.test(stderr)) return 'missing';
  if (code === 36 || /interaction is not allowed|keychain is locked/i.test(stderr)) return 'locked';
  if (code === 51 || code === 128 || /passphrase you entered is not correct|user canceled|denied/i.test(stderr))
    return 'denied';
  return 'failed';
}

/**
 * Reads Claude Code's Keychain login with the `security` command (macOS). Never hangs (the command
 * is killed after `timeoutMs`), never throws for a Keychain problem (each is an outcome, see
 * `KeychainOutcome`), and never puts the item's text in a message.
 *
 * @example
 * const item = await readClaudeCodeKeychain();
 * if (item.status === 'found') use(item.data.claudeAiOauth);
 * else if (item.status !== 'missing') console.warn(item.message);
 */
export async function readClaudeCodeKeychain(options: ClaudeCodeKeychainOptions = {}): Promise<KeychainOutcome> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const { service, account } = claudeCodeKeychainItem(env);
  const item = `Keychain item "${service}" (account ${account})`;
  const by = `\`security find-generic-password -a ${account} -s "${service}" -w\``;
  const outcome = (status: Exclude<KeychainOutcome['status'], 'found'>, message: string): KeychainOutcome => ({
    status,
    service,
    account,
    message,
  });

  const run = await new Promise<SecurityRun>((resolve) => {
    // Only what `security` needs: it gets no credential of ours through its environment.
    const childEnv = Object.fromEntries(
      ['PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR']
        .filter((k) => env[k] !== undefined)
        .map((k) => [k, env[k] as string]),
    );
    const child = spawn('security', ['find-generic-password', '-a', account, '-w', '-s', service], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (result: SecurityRun): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ kind: 'timeout' });
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_OUTPUT_BYTES) {
        child.kill('SIGKILL');
        finish({ kind: 'too-large' });
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 64) err.push(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      finish(error.code === 'ENOENT' ? { kind: 'unavailable' } : { kind: 'exit', code: null, stdout: '', stderr: '' }),
    );
    child.on('close', (code) =>
      finish({
        kind: 'exit',
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });

  if (run.kind === 'timeout')
    return outcome(
      'timeout',
      `Reading the ${item} got no answer within ${timeoutMs} ms (a Keychain prompt may be waiting); security was stopped. ` +
        `Run ${by} once in a terminal and choose "Always Allow".`,
    );
  if (run.kind === 'unavailable')
    return outcome('unavailable', `The ${item} could not be read: there is no \`security\` command on PATH.`);
  if (run.kind === 'too-large')
    return outcome(
      'unreadable',
      `The ${item} is larger than ${MAX_OUTPUT_BYTES} bytes; it is not Claude Code's login and was not read.`,
    );
  if (run.code === 0) {
    const data = parseItem(run.stdout.trim());
    if (data !== null) return { status: 'found', service, account, data };
    return outcome(
      'unreadable',
      `The ${item} does not hold a JSON object; run \`claude /login\` to store the login again.`,
    );
  }
  const kind = failure(run.code, run.stderr);
  if (kind === 'missing')
    return outcome(
      'missing',
      `There is no ${item}: Claude Code has no login in the Keychain (\`claude /login\` stores one).`,
    );
  if (kind === 'locked')
    return outcome(
      'locked',
      `The Keychain holding the ${item} is locked and cannot ask for its password here (exit ${run.code}); ` +
        `unlock it (\`security unlock-keychain\`) or log in at the Mac itself.`,
    );
  if (kind === 'denied')
    return outcome(
      'denied',
      `Access to the ${item} was denied (exit ${run.code}); run ${by} and choose "Always Allow", or allow the security tool in Keychain Access.`,
    );
  return outcome('failed', `Reading the ${item} with security failed (exit ${run.code ?? 'unknown'}).`);
}
