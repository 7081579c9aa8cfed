/**
 * Runs a real agent CLI (claude, codex) once against its own provider API fake with a tool-call
 * script, in a hermetic temp home with the workdir as cwd, and keeps what a test needs after the
 * temp folder is gone: the process result, the model requests with what a script saw of them,
 * the files left behind and Codex's rollout token counts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runProcess } from '../../src/agents/processRunner';
import type { ProcessResult } from '../../src/agents/processRunner';
import { startProviderApiFake, viewRequest } from '../../src/sandbox';
import type { FakeRequestRecord, FakeScript, FakeUsage, RequestView } from '../../src/sandbox';
import { agentBin, agentEnv, codexProviderArgs, makeCliHome } from './cliHome';
import type { CliHome } from './cliHome';

// Test credentials only: well-formed, never real.
export const TOOL_RUN_KEYS = {
  claude: `sk-ant-api03-${'ToolCallTestKey'}${'c'.repeat(60)}Tc1a`,
  openai: `sk-proj-${'ToolCallTestKey'}${'o'.repeat(40)}To2b`,
} as const;

/** Distinct usage per turn, so every output line can be traced back to the answer it came from. */
export function turnUsage(n: number): FakeUsage {
  return {
    inputTokens: 100 * n,
    outputTokens: 10 * n,
    cachedInputTokens: n,
    cacheCreationInputTokens: 2 * n,
    reasoningTokens: 3 * n,
  };
}

export interface ToolRunCase {
  readonly name: string;
  readonly cli: 'claude' | 'codex';
  /** Flags after the fixed ones (`-p <task>` / `exec --skip-git-repo-check --json <provider>`); `@WORK` stands for the workdir. */
  readonly flags: readonly string[];
  readonly script: FakeScript;
  readonly env?: Readonly<Record<string, string>>;
  /** Start in the temp folder above the workdir (for `-C`). @default the workdir */
  readonly cwd?: 'dir';
  /** @default 60 s */
  readonly timeoutMs?: number;
  /**
   * A runaway: stop it (abort, as a cap does) once the fake has answered this many model requests. A count, not
   * a time, so that a loaded machine starting the CLI slowly cannot make the run look short.
   */
  readonly stopAfterRequests?: number;
}

export type ViewedRequest = FakeRequestRecord & { readonly view: RequestView };

export interface ToolRun {
  readonly result: ProcessResult;
  /** Model requests (no probe), each with what a script saw of it. */
  readonly requests: readonly ViewedRequest[];
  /** Files afterwards: `work/<name>` for the workdir's entries (`(dir)` for folders), `outside.txt` beside it. */
  readonly files: ReadonlyMap<string, string>;
  readonly workdir: string;
  /** Payloads of Codex's rollout `token_count` events (`$CODEX_HOME/sessions/…/rollout-*.jsonl`). */
  readonly tokenCounts: readonly Record<string, unknown>[];
  /** stdout as JSON lines. */
  readonly lines: readonly Record<string, unknown>[];
}

function snapshotFiles(home: CliHome): Map<string, string> {
  const files = new Map<string, string>();
  const outside = path.join(home.dir, 'outside.txt');
  if (fs.existsSync(outside)) files.set('outside.txt', fs.readFileSync(outside, 'utf8'));
  for (const name of fs.readdirSync(home.workdir)) {
    const file = path.join(home.workdir, name);
    files.set(`work/${name}`, fs.statSync(file).isFile() ? fs.readFileSync(file, 'utf8') : '(dir)');
  }
  return files;
}

function codexTokenCounts(home: CliHome): Record<string, unknown>[] {
  const sessions = path.join(home.codexHome, 'sessions');
  if (!fs.existsSync(sessions)) return [];
  const files = (fs.readdirSync(sessions, { recursive: true }) as string[]).filter((file) => file.endsWith('.jsonl'));
  return files
    .flatMap((file) => fs.readFileSync(path.join(sessions, file), 'utf8').split('\n'))
    .filter((line) => line.includes('"type":"token_count"'))
    .map((line) => (JSON.parse(line) as { payload: Record<string, unknown> }).payload);
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** One run of `spec`; never throws for what the CLI does. */
export async function runToolCase(spec: ToolRunCase): Promise<ToolRun> {
  const home = makeCliHome(`tool-${spec.cli}-`);
  const claude = spec.cli === 'claude';
  const stop = new AbortController();
  let modelRequests = 0;
  const fake = await startProviderApiFake({
    keys: TOOL_RUN_KEYS,
    script: claude ? { claude: spec.script } : { openai: spec.script },
    onRequest: (request) => {
      if (request.route !== 'anthropic.messages' && request.route !== 'openai.responses') return;
      modelRequests += 1;
      if (spec.stopAfterRequests !== undefined && modelRequests >= spec.stopAfterRequests) stop.abort();
    },
  });
  try {
    const flags = spec.flags.map((flag) => flag.replace('@WORK', home.workdir));
    // TMPDIR inside the run's folder for both CLIs: Claude Code's sandbox makes empty folders there (claude-empty-*)
    // and leaves them. Outside CODEX_HOME: Codex will not put its sandbox helpers under the temp dir, and a system
    // bwrap then cannot find them.
    const tmp = path.join(home.dir, 'tmp');
    fs.mkdirSync(tmp);
    const env = claude
      ? agentEnv(home, {
          ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
          ANTHROPIC_API_KEY: TOOL_RUN_KEYS.claude,
          CLAUDE_CODE_MAX_RETRIES: '0',
          TMPDIR: tmp,
          ...spec.env,
        })
      : agentEnv(home, { OPENAI_API_KEY: TOOL_RUN_KEYS.openai, TMPDIR: tmp, ...spec.env });
    const args = claude
      ? ['-p', 'Do the task.', ...flags]
      : [
          'exec',
          '--skip-git-repo-check',
          '--json',
          ...codexProviderArgs(fake.openaiBaseUrl, { envKey: 'OPENAI_API_KEY' }),
          ...flags,
          'Do the task.',
        ];
    const cwd = spec.cwd === 'dir' ? home.dir : home.workdir;
    const result = await runProcess({
      command: agentBin(spec.cli),
      args,
      env,
      cwd,
      stdin: 'ignore',
      timeoutMs: spec.timeoutMs ?? 60_000,
      maxOutputBytes: 8 << 20,
      killGraceMs: 2000,
      signal: stop.signal,
    });
    const requests = fake.requests.flatMap((r) =>
      r.route === 'anthropic.messages' || r.route === 'openai.responses'
        ? [{ ...r, view: viewRequest(r.route, r.body) }]
        : [],
    );
    return {
      result,
      requests,
      files: snapshotFiles(home),
      workdir: home.workdir,
      tokenCounts: codexTokenCounts(home),
      lines: jsonLines(result.stdout),
    };
  } finally {
    await fake.close();
    home.cleanup();
  }
}
