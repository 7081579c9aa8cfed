/**
 * `agentvisor test` honours the config file's `providers` switches (as `run` and `status` do), beside
 * AGENTVISOR_DISABLE_PROVIDERS: the CLI as its own process against the loopback provider fake.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startProviderApiFake } from '../../src';
import type { ProviderApiFake } from '../../src';
import type { TestResult } from '../../src/cli/testCommand';
import { expectNoSecrets, lastJson, startCli } from '../helpers/batchCli';
import type { CliEnd } from '../helpers/batchCli';

const root = path.join(__dirname, '..', '..');
const CLAUDE_KEY = `sk-ant-api03-${'CliTestConfigClaude'}${'c'.repeat(60)}Cf1z`;
const OPENAI_KEY = `sk-proj-${'CliTestConfigOpenAI'}${'o'.repeat(40)}Cf2y`;

let dir: string;
let fake: ProviderApiFake;
let outputs: string[];

beforeEach(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-config-')));
  fs.mkdirSync(path.join(dir, '.codex', 'agentvisor'), { recursive: true, mode: 0o700 });
  fake = await startProviderApiFake({ keys: { claude: CLAUDE_KEY, openai: OPENAI_KEY } });
  outputs = [];
});

afterEach(async () => {
  expectNoSecrets(outputs, [CLAUDE_KEY, OPENAI_KEY]);
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[], env: Record<string, string> = {}): Promise<CliEnd> {
  const keys = {
    ANTHROPIC_BASE_URL: fake.anthropicBaseUrl,
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    ANTHROPIC_API_KEY: CLAUDE_KEY,
    OPENAI_API_KEY: OPENAI_KEY,
  };
  return startCli(args, {
    cwd: root,
    home: dir,
    outputs,
    env: { CODEX_HOME: path.join(dir, '.codex'), CLAUDE_CONFIG_DIR: path.join(dir, '.claude'), ...keys, ...env },
  }).done;
}

function writeConfig(settings: unknown): void {
  fs.writeFileSync(path.join(dir, '.codex', 'agentvisor', 'config.json'), JSON.stringify(settings), { mode: 0o600 });
}

describe('agentvisor test with a config file', () => {
  it("should report the config file's providers switches (off, canary share) and still check each provider", async () => {
    writeConfig({ providers: { openai: { enabled: false }, claude: { rolloutPercent: 25 } } });
    const tested = await cli(['--json', 'test']);
    expect(tested.status).toBe(0);
    expect(lastJson<TestResult>(tested.stdout).results.map((r) => [r.provider, r.verdict, r.switch])).toEqual([
      ['claude', 'ok', { enabled: true, disabledBy: null, rolloutPercent: 25 }],
      ['openai', 'ok', { enabled: false, disabledBy: 'option', rolloutPercent: 100 }],
    ]);

    const forPeople = await cli(['test']);
    expect(forPeople.status).toBe(0);
    expect(forPeople.stdout).toMatch(/claude\s.*on, 25% of agents/);
    expect(forPeople.stdout).toMatch(/openai\s.*off \(config file\)/);
  });

  it('should name the config file when both it and AGENTVISOR_DISABLE_PROVIDERS switch a provider off', async () => {
    writeConfig({ providers: { claude: { enabled: false } } });
    const tested = await cli(['--json', 'test'], { AGENTVISOR_DISABLE_PROVIDERS: 'claude,openai' });
    expect(tested.status).toBe(0);
    expect(lastJson<TestResult>(tested.stdout).results.map((r) => [r.provider, r.switch.disabledBy])).toEqual([
      ['claude', 'option'],
      ['openai', 'env'],
    ]);
  });
});
