import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentvisorPackageRoot, resolveAgentBinary } from '../../src/agents';
import { isAgentvisorError } from '../../src/errors';

let dir: string;
beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agent-binary-')));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function executable(file: string, mode = 0o755): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '#!/bin/sh\n', { mode });
  fs.chmodSync(file, mode);
  return file;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('resolveAgentBinary', () => {
  it('should take AGENTVISOR_CLAUDE_BIN / AGENTVISOR_CODEX_BIN first: a path (relative to cwd) or a name on PATH', () => {
    const bin = executable(path.join(dir, 'bin', 'my-claude'));
    executable(path.join(dir, 'path', 'claude'));
    const env = { PATH: path.join(dir, 'path'), AGENTVISOR_CLAUDE_BIN: bin };
    expect(resolveAgentBinary('claude-code', { env, cwd: dir, packageRoot: null })).toBe(bin);
    expect(
      resolveAgentBinary('claude-code', {
        env: { ...env, AGENTVISOR_CLAUDE_BIN: './bin/my-claude' },
        cwd: dir,
        packageRoot: null,
      }),
    ).toBe(bin);
    expect(
      resolveAgentBinary('claude-code', {
        env: { PATH: path.join(dir, 'bin'), AGENTVISOR_CLAUDE_BIN: 'my-claude' },
        cwd: dir,
        packageRoot: null,
      }),
    ).toBe(bin);
  });

  it('should refuse an override that is not an executable file with agent-not-found naming the variable', () => {
    const notExecutable = executable(path.join(dir, 'codex'), 0o644);
    const error = thrown(() =>
      resolveAgentBinary('codex', {
        env: { PATH: '', AGENTVISOR_CODEX_BIN: notExecutable },
        cwd: dir,
        packageRoot: null,
      }),
    );
    expect(isAgentvisorError(error, 'agent-not-found')).toBe(true);
    expect((error as Error).message).toBe(
      `AGENTVISOR_CODEX_BIN names ${JSON.stringify(notExecutable)}, which is not an executable file: fix the path or unset AGENTVISOR_CODEX_BIN`,
    );
  });

  it('should look on PATH (skipping files that are not executable), then ./node_modules/.bin, then the package root', () => {
    executable(path.join(dir, 'a', 'codex'), 0o644);
    const onPath = executable(path.join(dir, 'b', 'codex'));
    expect(
      resolveAgentBinary('codex', {
        env: { PATH: `${path.join(dir, 'a')}:${path.join(dir, 'b')}` },
        cwd: dir,
        packageRoot: null,
      }),
    ).toBe(onPath);
    const local = executable(path.join(dir, 'node_modules', '.bin', 'codex'));
    expect(resolveAgentBinary('codex', { env: { PATH: path.join(dir, 'a') }, cwd: dir, packageRoot: null })).toBe(
      local,
    );
    const pkg = executable(path.join(dir, 'pkg', 'node_modules', '.bin', 'claude'));
    expect(resolveAgentBinary('claude-code', { env: { PATH: '' }, cwd: dir, packageRoot: path.join(dir, 'pkg') })).toBe(
      pkg,
    );
  });

  it('should say where it looked and how to install when nothing is found', () => {
    const error = thrown(() => resolveAgentBinary('claude-code', { env: { PATH: '' }, cwd: dir, packageRoot: null }));
    expect(isAgentvisorError(error, 'agent-not-found')).toBe(true);
    expect((error as Error).message).toBe(
      `claude (claude-code) was not found on PATH or in ${path.join(dir, 'node_modules', '.bin')}: ` +
        'install it (npm i -D @anthropic-ai/claude-code) or set AGENTVISOR_CLAUDE_BIN to its path',
    );
  });

  it("should find agentvisor's own package root (its node_modules/.bin holds the devDependency CLIs)", () => {
    const root = agentvisorPackageRoot();
    expect(root).toBe(path.join(__dirname, '..', '..'));
    expect(resolveAgentBinary('codex', { env: { PATH: '' }, cwd: dir })).toBe(
      path.join(root!, 'node_modules', '.bin', 'codex'),
    );
  });
});
