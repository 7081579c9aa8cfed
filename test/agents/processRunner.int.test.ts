import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutputCapture, runProcess, startProcess } from '../../src/agents';
import type { RunProcessOptions } from '../../src/agents';
import { isAgentvisorError } from '../../src/errors';
import { watchdogExitStatus } from '../../src/agents/parentDeathWatch';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** A node -e child: real processes, no shell. */
function nodeOptions(script: string, overrides: Partial<RunProcessOptions> = {}): RunProcessOptions {
  return {
    command: process.execPath,
    args: ['-e', script],
    env,
    timeoutMs: 10_000,
    maxOutputBytes: 1 << 20,
    ...overrides,
  };
}

/** Alive means running or sleeping; a zombie (exited, not yet reaped by init) counts as dead. */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function waitUntilDead(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !isAlive(pid);
}

// A grandchild that prints its pid, then lives forever; its parent waits forever too.
const FAMILY = `
  const { spawn } = require('node:child_process');
  const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  console.log('grandchild ' + grandchild.pid);
  setInterval(() => {}, 1000);
`;

function grandchildPid(stdout: string): number {
  const match = /grandchild (\d+)/.exec(stdout);
  if (match === null) throw new Error(`no grandchild pid in ${JSON.stringify(stdout)}`);
  return Number(match[1]);
}

// Every observable behaviour must be the same with the parent-death watchdog in between.
describe.each([false, true])('runProcess (dieWithParent: %s)', (dieWithParent) => {
  const node = (script: string, overrides: Partial<RunProcessOptions> = {}): RunProcessOptions =>
    nodeOptions(script, { dieWithParent, ...overrides });

  it('should return the exit code and both outputs', async () => {
    const result = await runProcess(node("process.stdout.write('out'); process.stderr.write('err'); process.exit(3)"));
    expect(result).toMatchObject({
      exitCode: 3,
      signal: null,
      stdout: 'out',
      stderr: 'err',
      timedOut: false,
      aborted: false,
      truncated: false,
    });
    expect(result.omittedBytes).toEqual({ stdout: 0, stderr: 0 });
    expect(result.spawnError).toBeUndefined();
    expect(result.durationMs).toBeGreaterThan(0);
  });

  it('should pass arguments as they are, never through a shell', async () => {
    const tricky = ['$(echo hacked)', 'a; rm -rf /', '"quoted" \'single\'', '*', ''];
    const result = await runProcess({
      ...node('console.log(JSON.stringify(process.argv.slice(1)))'),
      args: ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...tricky],
    });
    expect(JSON.parse(result.stdout)).toEqual(tricky);
  });

  it('should give the child exactly the env passed, nothing inherited', async () => {
    process.env.AGENTVISOR_TEST_SHOULD_NOT_LEAK = 'leak';
    try {
      const result = await runProcess(
        node('console.log(JSON.stringify(process.env))', { env: { ...env, ONLY_THIS: 'yes' } }),
      );
      // With the watchdog, one variable more: the run's tag, by which its escaped descendants are found.
      const tag = dieWithParent ? { AGENTVISOR_PROCESS_TAG: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown } : {};
      expect(JSON.parse(result.stdout)).toEqual({ ...env, ONLY_THIS: 'yes', ...tag });
      const withPwd = await runProcess(
        node('console.log(JSON.stringify(process.env))', { env: { ...env, PWD: '/not/the/cwd' } }),
      );
      expect(JSON.parse(withPwd.stdout)).toEqual({ ...env, PWD: '/not/the/cwd', ...tag });
    } finally {
      delete process.env.AGENTVISOR_TEST_SHOULD_NOT_LEAK;
    }
  });

  it('should close stdin by default and write a given string to it', async () => {
    const echo =
      "let s=''; process.stdin.on('data', d => s += d); process.stdin.on('end', () => console.log(JSON.stringify(s)))";
    expect((await runProcess(node(echo))).stdout).toBe('""\n');
    expect((await runProcess(node(echo, { stdin: 'ignore' }))).stdout).toBe('""\n');
    expect((await runProcess(node(echo, { stdin: 'line one\nline two' }))).stdout).toBe('"line one\\nline two"\n');
  });

  it('should run in the given working directory', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'process-runner-')));
    try {
      expect((await runProcess(node('console.log(process.cwd())', { cwd: dir }))).stdout).toBe(`${dir}\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should stop the whole process group on timeout, grandchildren included', async () => {
    const result = await runProcess(node(FAMILY, { timeoutMs: 700, killGraceMs: 1000 }));
    const pid = grandchildPid(result.stdout);
    expect(result).toMatchObject({ timedOut: true, aborted: false, exitCode: null, signal: 'SIGTERM' });
    expect(result.durationMs).toBeGreaterThanOrEqual(700);
    expect(result.durationMs).toBeLessThan(3000);
    expect(await waitUntilDead(pid, 2000)).toBe(true);
  });

  it('should SIGKILL a group that ignores SIGTERM once the grace period is over', async () => {
    const stubborn = "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)";
    const result = await runProcess(node(stubborn, { timeoutMs: 500, killGraceMs: 400 }));
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL', exitCode: null, stdout: 'ready\n' });
    expect(result.durationMs).toBeGreaterThanOrEqual(900);
    expect(result.durationMs).toBeLessThan(3000);
  });

  it('should report the signal that killed the program, and the exit code of one that handled SIGTERM', async () => {
    expect(await runProcess(node("process.kill(process.pid, 'SIGHUP')"))).toMatchObject({
      exitCode: null,
      signal: 'SIGHUP',
      stderr: '',
    });
    const run = startProcess(
      node("process.on('SIGTERM', () => process.exit(3)); console.log('ready'); setInterval(() => {}, 1000)"),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    run.stop();
    expect(await run.result).toMatchObject({ exitCode: 3, signal: null, aborted: true, stdout: 'ready\n', stderr: '' });
  });

  it('should look the command up on PATH past a file of that name that is not executable', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'process-runner-')));
    try {
      for (const [sub, mode] of [
        ['a', 0o644],
        ['b', 0o755],
      ] as const) {
        fs.mkdirSync(path.join(dir, sub));
        fs.writeFileSync(path.join(dir, sub, 'tool'), `#!/bin/sh\necho from ${sub}\n`, { mode });
      }
      const result = await runProcess({
        ...node(''),
        command: 'tool',
        args: [],
        env: { PATH: `${dir}/a:${dir}/b:/usr/bin:/bin` },
      });
      expect(result).toMatchObject({ exitCode: 0, stdout: 'from b\n' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should stop what the program left running when it exits on its own', async () => {
    const leaver = `
      const { spawn } = require('node:child_process');
      const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' });
      console.log('grandchild ' + grandchild.pid);
      grandchild.unref();
      process.exit(0);
    `;
    const result = await runProcess(node(leaver, { killGraceMs: 500 }));
    expect(result).toMatchObject({ exitCode: 0, signal: null, timedOut: false, aborted: false });
    // The grandchild held stdout open: the result came once it was stopped, not at the 10 s timeout.
    expect(result.durationMs).toBeLessThan(3000);
    expect(await waitUntilDead(grandchildPid(result.stdout), 2000)).toBe(true);
  });

  it(`should ${dieWithParent ? '' : 'not '}stop a descendant that left the group (own session, like the agent CLIs' tool shells)`, async () => {
    // The escaper ignores SIGTERM, its child does not; neither holds our stdout, so the result comes
    // first and the escaper's SIGKILL after it.
    const escaper =
      "process.on('SIGTERM', () => {}); " +
      "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); " +
      "console.log('escaper ' + process.pid + ' inner ' + c.pid); setInterval(() => {}, 1000)";
    const script =
      `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(escaper)}], ` +
      "{ detached: true, stdio: ['ignore', 'pipe', 'ignore'] }).stdout.pipe(process.stdout); setInterval(() => {}, 1000)";
    let seen = '';
    const run = startProcess(node(script, { killGraceMs: 300, onStdout: (text) => (seen += text) }));
    for (let i = 0; i < 100 && !seen.includes('\n'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const pids = (/escaper (\d+) inner (\d+)/.exec(seen) ?? []).slice(1).map(Number);
    try {
      expect(pids).toHaveLength(2);
      run.stop();
      expect(await run.result).toMatchObject({ aborted: true, signal: 'SIGTERM' });
      expect(isAlive(pids[0]!)).toBe(true); // SIGTERM ignored; the SIGKILL is due 300 ms after the stop
      const dead = (await waitUntilDead(pids[0]!, 1500)) && (await waitUntilDead(pids[1]!, 100));
      expect(dead).toBe(dieWithParent);
    } finally {
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it(`should ${dieWithParent ? '' : 'not '}stop a descendant that left the group when the program exits on its own`, async () => {
    // The program leaves an escaper in a session of its own, holding none of our output, and exits:
    // its group is gone at once, so the tag scan comes after the result. The escaper ignores SIGTERM
    // (its SIGKILL follows after the grace), its child does not.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leftover-'));
    const file = path.join(dir, 'pids');
    const escaper =
      "process.on('SIGTERM', () => {}); " +
      "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); " +
      `require('node:fs').writeFileSync(${JSON.stringify(file)}, process.pid + ' ' + c.pid); setInterval(() => {}, 1000)`;
    const script =
      `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(escaper)}], { detached: true, stdio: 'ignore' }).unref(); ` +
      `const fs = require('node:fs'); const wait = () => (fs.existsSync(${JSON.stringify(file)}) ? ` +
      `(console.log(fs.readFileSync(${JSON.stringify(file)}, 'utf8')), process.exit(0)) : setTimeout(wait, 10)); wait()`;
    let pids: number[] = [];
    try {
      const result = await runProcess(node(script, { killGraceMs: 300 }));
      pids = result.stdout.trim().split(' ').map(Number);
      expect({ exitCode: result.exitCode, pids: pids.length }).toEqual({ exitCode: 0, pids: 2 });
      const dead = (await waitUntilDead(pids[0]!, 1500)) && (await waitUntilDead(pids[1]!, 100));
      expect(dead).toBe(dieWithParent);
    } finally {
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  if (dieWithParent)
    it('should signal the descendants that left the group only after the result when the program leaves its group behind (D48)', async () => {
      // The program leaves a member in its group (as Claude Code leaves its unreaped socat) and an
      // escaper in a session of its own that writes when its SIGTERM came; neither holds our output.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leftover-group-'));
      const ready = path.join(dir, 'ready');
      const termed = path.join(dir, 'termed');
      const escaper =
        `const fs = require('node:fs'); process.on('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(termed)}, String(Date.now())); process.exit(0); }); ` +
        `fs.writeFileSync(${JSON.stringify(ready)}, String(process.pid)); setInterval(() => {}, 1000)`;
      const script =
        "const { spawn } = require('node:child_process'); const fs = require('node:fs'); " +
        "spawn('sleep', ['30'], { stdio: 'ignore' }).unref(); " +
        `spawn(process.execPath, ['-e', ${JSON.stringify(escaper)}], { detached: true, stdio: 'ignore' }).unref(); ` +
        `const wait = () => (fs.existsSync(${JSON.stringify(ready)}) ? ` +
        `(console.log(fs.readFileSync(${JSON.stringify(ready)}, 'utf8')), process.exit(0)) : setTimeout(wait, 10)); wait()`;
      let pid = 0;
      try {
        const result = await runProcess(node(script, { killGraceMs: 300 }));
        const resolvedAt = Date.now();
        // Busy for 100 ms: a scan that waits for the result cannot signal the escaper before this ends.
        while (Date.now() < resolvedAt + 100);
        pid = Number(result.stdout.trim());
        expect({ exitCode: result.exitCode, pid: pid > 0 }).toEqual({ exitCode: 0, pid: true });
        expect(await waitUntilDead(pid, 1500)).toBe(true);
        expect(Number(fs.readFileSync(termed, 'utf8'))).toBeGreaterThanOrEqual(resolvedAt + 100);
      } finally {
        if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

  it('should stop the group when the signal aborts, and not start at all when it already has', async () => {
    const controller = new AbortController();
    const running = runProcess(node(FAMILY, { signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 400));
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ aborted: true, timedOut: false, signal: 'SIGTERM', exitCode: null });
    expect(await waitUntilDead(grandchildPid(result.stdout), 2000)).toBe(true);

    const before = await runProcess(node('console.log("ran")', { signal: AbortSignal.abort() }));
    expect(before).toMatchObject({ aborted: true, exitCode: null, stdout: '', durationMs: 0 });
  });

  it('should stop the group on stop()', async () => {
    const run = startProcess(node(FAMILY));
    expect(run.pid).toEqual(expect.any(Number));
    await new Promise((resolve) => setTimeout(resolve, 400));
    run.stop();
    const result = await run.result;
    expect(result).toMatchObject({ aborted: true, timedOut: false, signal: 'SIGTERM' });
    expect(await waitUntilDead(grandchildPid(result.stdout), 2000)).toBe(true);
    run.stop(); // after the end: nothing is signalled, nothing throws
  });

  it('should keep the head and the tail of a flood of output and say how much was dropped', async () => {
    const flood =
      "process.stdout.write('HEAD'); for (let i = 0; i < 100; i++) process.stdout.write('x'.repeat(10000)); " +
      "process.stdout.write('TAIL'); process.stderr.write('e'.repeat(50))";
    const result = await runProcess(node(flood, { maxOutputBytes: 100 }));
    const total = 4 + 100 * 10_000 + 4;
    expect(result.truncated).toBe(true);
    expect(result.omittedBytes).toEqual({ stdout: total - 100, stderr: 0 });
    expect(result.stdout).toBe(
      `HEAD${'x'.repeat(46)}\n[agentvisor: ${total - 100} bytes omitted]\n${'x'.repeat(46)}TAIL`,
    );
    expect(result.stderr).toBe('e'.repeat(50));
    expect(result.exitCode).toBe(0);
  });

  it('should hand every piece of stdout to onStdout as it arrives, whole characters only, even past the cap', async () => {
    // 'é' is two bytes; written one byte at a time, a plain toString would split it into two U+FFFD.
    const script =
      "const b = Buffer.from('aé\\n'); let i = 0; " +
      'const t = setInterval(() => { process.stdout.write(b.subarray(i, i + 1)); ' +
      "if (++i === b.length) { clearInterval(t); process.stdout.write('z'.repeat(500)); } }, 15)";
    const pieces: string[] = [];
    const result = await runProcess(node(script, { maxOutputBytes: 10, onStdout: (text) => pieces.push(text) }));
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe(`aé\n${'z'.repeat(500)}`);
    expect(pieces.join('')).not.toContain('\uFFFD');
    expect(result.truncated).toBe(true);
  });

  it('should report a program that cannot be started as spawnError, without throwing', async () => {
    const missing = await runProcess({ ...node(''), command: 'agentvisor-no-such-program-xyz' });
    expect(missing).toMatchObject({
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: '',
      timedOut: false,
      aborted: false,
    });
    expect(missing.spawnError).toEqual({
      code: 'ENOENT',
      message: 'agentvisor-no-such-program-xyz: not found (check the path or PATH) [ENOENT]',
    });

    const badCwd = await runProcess(node('', { cwd: path.join(os.tmpdir(), 'agentvisor-missing-dir-xyz') }));
    expect(badCwd.spawnError).toEqual({
      code: 'ENOENT',
      message: `${process.execPath}: the working directory does not exist [ENOENT]`,
    });

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'process-runner-'));
    const notExecutable = path.join(dir, 'script.sh');
    fs.writeFileSync(notExecutable, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    try {
      const denied = await runProcess({ ...node(''), command: notExecutable });
      expect(denied.spawnError?.code).toBe('EACCES');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should refuse malformed options with invalid-option', () => {
    const cases: [Partial<RunProcessOptions>, string][] = [
      [{ command: '' }, 'command'],
      [{ args: 'not an array' as unknown as string[] }, 'args'],
      [{ args: ['a\0b'] }, 'args'],
      [{ env: { X: 1 as unknown as string } }, 'env'],
      [{ timeoutMs: 0 }, 'timeoutMs'],
      [{ timeoutMs: 1.5 }, 'timeoutMs'],
      [{ maxOutputBytes: -1 }, 'maxOutputBytes'],
      [{ killGraceMs: -1 }, 'killGraceMs'],
      [{ dieWithParent: 'yes' as unknown as boolean }, 'dieWithParent'],
    ];
    for (const [override, field] of cases) {
      let caught: unknown;
      try {
        startProcess({ ...node(''), ...override });
      } catch (err) {
        caught = err;
      }
      expect(isAgentvisorError(caught, 'invalid-option')).toBe(true);
      expect((caught as { details: { field: string } }).details.field).toBe(field);
    }
  });
});

describe('the dieWithParent watchdog', () => {
  it('should give the program the same file descriptors as a direct start (no lifeline, no saved stderr)', async () => {
    const fds = { command: '/bin/sh', args: ['-c', 'ls /proc/$$/fd'], env, timeoutMs: 10_000, maxOutputBytes: 1 << 16 };
    const direct = await runProcess(fds);
    expect(direct.stdout).toMatch(/^0\n1\n2\n/);
    expect(await runProcess({ ...fds, dieWithParent: true })).toMatchObject({
      exitCode: 0,
      stdout: direct.stdout,
      stderr: '',
    });
  });

  it('should map the shell status 128+N back to the signal, only for signals that can end a process', () => {
    expect(watchdogExitStatus(143, null)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(watchdogExitStatus(137, null)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(watchdogExitStatus(3, null)).toEqual({ code: 3, signal: null });
    expect(watchdogExitStatus(128, null)).toEqual({ code: 128, signal: null });
    expect(watchdogExitStatus(128 + 19, null)).toEqual({ code: 147, signal: null }); // SIGSTOP stops, it never ends a process
    expect(watchdogExitStatus(255, null)).toEqual({ code: 255, signal: null });
    expect(watchdogExitStatus(null, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

describe('OutputCapture', () => {
  it('should keep everything up to the limit', () => {
    const capture = new OutputCapture(10);
    capture.push(Buffer.from('abcde'));
    capture.push(Buffer.from('fghij'));
    expect(capture.text()).toBe('abcdefghij');
    expect(capture.omittedBytes).toBe(0);
  });

  it('should keep the first and last halves across many chunks', () => {
    const capture = new OutputCapture(6);
    for (const chunk of ['ab', 'cd', 'ef', 'gh', 'ij', 'kl']) capture.push(Buffer.from(chunk));
    expect(capture.text()).toBe('abc\n[agentvisor: 6 bytes omitted]\njkl');
    expect(capture.totalBytes).toBe(12);
  });

  it('should keep nothing at a limit of 0 and count what it dropped', () => {
    const capture = new OutputCapture(0);
    capture.push(Buffer.from('abc'));
    expect(capture.text()).toBe('\n[agentvisor: 3 bytes omitted]\n');
  });
});
