import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAgentHome } from '../../src/agents/agentHome';
import { sweepStaleAgentHomes, UNMARKED_AGENT_HOME_MAX_AGE_MS } from '../../src/agents/staleAgentHomes';
import type { ParentSpec } from '../helpers/dyingParent';

const REPO_ROOT = path.resolve(__dirname, '../..');
const PARENT_SCRIPT = path.join(REPO_ROOT, 'test', 'helpers', 'dyingParent.ts');

/** State letter and start time (field 22) of a process, or null when it is gone. */
function procStat(pid: number): { state: string; startTime: string } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
  } catch {
    return null;
  }
}

/** Running or sleeping; a zombie (dead, not yet reaped) counts as dead. */
function isAlive(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X';
}

async function waitUntilDead(pids: readonly number[], withinMs: number): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started <= withinMs) {
    if (pids.every((pid) => !isAlive(pid))) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return null;
}

/** Every test-started process, killed at the end only if its pid still names the same process. */
const started: { pid: number; startTime: string }[] = [];
const parents: ChildProcess[] = [];

function track(pid: number): number {
  const stat = procStat(pid);
  if (stat !== null) started.push({ pid, startTime: stat.startTime });
  return pid;
}

/** Starts dyingParent.ts and resolves the numbers it prints (`leader`, `program`, `home`, …) once all `wanted` arrived. */
function startParent(
  spec: ParentSpec,
  wanted: readonly string[],
): Promise<{ child: ChildProcess; values: Record<string, string> }> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', PARENT_SCRIPT, JSON.stringify(spec)],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  parents.push(child);
  return new Promise((resolve, reject) => {
    const values: Record<string, string> = {};
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(
      () => reject(new Error(`the parent printed no ${wanted.join(', ')} in time: ${stdout} ${stderr}`)),
      20_000,
    );
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      for (const match of stdout.matchAll(/^(\w+) (.+)$/gm)) values[match[1]!] = match[2]!;
      if (wanted.every((key) => key in values)) {
        clearTimeout(timer);
        resolve({ child, values });
      }
    });
    child.once('exit', (code) => reject(new Error(`the parent exited (${code}): ${stderr}`)));
  });
}

async function killParent(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

interface Family {
  readonly parent: ChildProcess;
  readonly leader: number;
  readonly program: number;
  /** The grandchild in the group, the escaper in its own session and the escaper's child. */
  readonly descendants: readonly number[];
}

async function startFamily(dieWithParent: boolean, stubborn: boolean): Promise<Family> {
  const names = ['leader', 'program', 'grandchild', 'escaper', 'escapee'];
  const { child, values } = await startParent({ mode: 'family', dieWithParent, stubborn, killGraceMs: 500 }, names);
  const [leader, program, ...descendants] = names.map((name) => track(Number(values[name]))) as [
    number,
    number,
    ...number[],
  ];
  expect([leader, program, ...descendants].every(isAlive)).toBe(true);
  return { parent: child, leader, program, descendants };
}

afterEach(() => {
  for (const parent of parents.splice(0)) parent.kill('SIGKILL');
  for (const { pid, startTime } of started.splice(0))
    if (procStat(pid)?.startTime === startTime) process.kill(pid, 'SIGKILL');
});

describe('startProcess with dieWithParent', () => {
  it('should end the program and all its descendants, in its group or not, within 3 s after its parent is SIGKILLed', async () => {
    const { parent, leader, program, descendants } = await startFamily(true, false);
    expect(leader).not.toBe(program); // the watchdog leads the group
    await killParent(parent);
    expect(await waitUntilDead([program, ...descendants], 3000)).not.toBeNull();
    expect(await waitUntilDead([leader], 3000)).not.toBeNull();
  });

  it('should SIGKILL a program and descendants that ignore SIGTERM once the grace period is over', async () => {
    const { parent, leader, program, descendants } = await startFamily(true, true);
    await killParent(parent);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([program, ...descendants].every(isAlive)).toBe(true); // SIGTERM did not end them …
    expect(await waitUntilDead([program, ...descendants, leader], 3000)).not.toBeNull(); // … SIGKILL did
  });

  it('should leave the program and its descendants running without it (what the watchdog prevents)', async () => {
    const { parent, program, descendants } = await startFamily(false, false);
    await killParent(parent);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect([program, ...descendants].filter(isAlive)).toEqual([program, ...descendants]);
    // afterEach kills them by pid.
  });
});

describe('sweepStaleAgentHomes', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-sweep-test-')));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A folder named like a home, with the given marker text (none when undefined). */
  function fakeHome(name: string, marker?: string): string {
    const root = path.join(dir, name);
    fs.mkdirSync(path.join(root, 'home', '.codex'), { recursive: true, mode: 0o700 });
    if (marker !== undefined) fs.writeFileSync(path.join(root, 'owner.json'), marker);
    return root;
  }

  function markerOf(root: string): Record<string, unknown> {
    return JSON.parse(fs.readFileSync(path.join(root, 'owner.json'), 'utf8')) as Record<string, unknown>;
  }

  it('should remove the home of a killed process and keep the homes of live ones', async () => {
    const { child, values } = await startParent({ mode: 'home', parent: dir }, ['home']);
    const orphan = values.home!;
    expect(fs.existsSync(path.join(orphan, 'home', '.codex', 'auth.json'))).toBe(true);
    const mine = createAgentHome({ parent: dir });
    const { child: live, values: liveValues } = await startParent({ mode: 'home', parent: dir }, ['home']);
    try {
      expect(sweepStaleAgentHomes({ parent: dir })).toEqual({ removed: [], kept: 3 }); // all three owners alive
      await killParent(child);
      expect(sweepStaleAgentHomes({ parent: dir })).toEqual({ removed: [orphan], kept: 2 });
      expect(fs.existsSync(orphan)).toBe(false);
      expect(fs.existsSync(mine.root) && fs.existsSync(liveValues.home!)).toBe(true);
    } finally {
      mine.remove();
      await killParent(live);
    }
  });

  it('should remove a home whose pid now belongs to a later process', () => {
    const mine = createAgentHome({ parent: dir });
    const reused = fakeHome(
      'agentvisor-agent-reused',
      JSON.stringify({ ...markerOf(mine.root), startTime: Number(markerOf(mine.root).startTime) + 1 }),
    );
    expect(sweepStaleAgentHomes({ parent: dir })).toEqual({ removed: [reused], kept: 1 });
    mine.remove();
  });

  it('should neither follow nor remove a symlink named like a home, and not follow symlinks inside one', () => {
    const mine = createAgentHome({ parent: dir });
    const deadMarker = JSON.stringify({ ...markerOf(mine.root), startTime: Number(markerOf(mine.root).startTime) + 1 });
    mine.remove();
    // Outside the swept folder: a stale-looking home and a file, reached only through symlinks.
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-sweep-outside-'));
    try {
      fs.mkdirSync(path.join(outside, 'target', 'home'), { recursive: true });
      fs.writeFileSync(path.join(outside, 'target', 'owner.json'), deadMarker);
      fs.writeFileSync(path.join(outside, 'precious'), 'keep me');
      fs.symlinkSync(path.join(outside, 'target'), path.join(dir, 'agentvisor-agent-link'));
      const stale = fakeHome('agentvisor-agent-stale', deadMarker);
      fs.symlinkSync(outside, path.join(stale, 'home', 'escape'));

      expect(sweepStaleAgentHomes({ parent: dir })).toEqual({ removed: [stale], kept: 1 });
      expect(fs.lstatSync(path.join(dir, 'agentvisor-agent-link')).isSymbolicLink()).toBe(true);
      expect(fs.existsSync(path.join(outside, 'target', 'owner.json'))).toBe(true);
      expect(fs.readFileSync(path.join(outside, 'precious'), 'utf8')).toBe('keep me');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('should keep homes with a corrupt, foreign, symlinked or FIFO marker, and other names', () => {
    const mine = createAgentHome({ parent: dir });
    const marker = markerOf(mine.root);
    mine.remove();
    fakeHome('agentvisor-agent-corrupt', '{"format":"agentvisor-agent-home-owner/1","pid":');
    fakeHome('agentvisor-agent-wrongshape', JSON.stringify({ ...marker, pid: 'x' }));
    fakeHome(
      'agentvisor-agent-otherhost',
      JSON.stringify({ ...marker, startTime: Number(marker.startTime) + 1, hostname: 'elsewhere' }),
    );
    fakeHome(
      'agentvisor-agent-container',
      JSON.stringify({ ...marker, startTime: Number(marker.startTime) + 1, pidNamespace: 'pid:[1]' }),
    );
    const fifo = fakeHome('agentvisor-agent-fifo');
    expect(spawnSync('mkfifo', [path.join(fifo, 'owner.json')]).status).toBe(0); // reading it must not block
    const linked = fakeHome('agentvisor-agent-linkedmarker');
    fs.writeFileSync(
      path.join(dir, 'real-marker.json'),
      JSON.stringify({ ...marker, startTime: Number(marker.startTime) + 1 }),
    );
    fs.symlinkSync(path.join(dir, 'real-marker.json'), path.join(linked, 'owner.json'));
    fakeHome('not-an-agent-home', JSON.stringify({ ...marker, startTime: Number(marker.startTime) + 1 }));
    expect(sweepStaleAgentHomes({ parent: dir })).toEqual({ removed: [], kept: 6 });
  });

  it('should remove a home without marker only when it has the old layout and is older than 48 h', () => {
    const old = Date.now() / 1000 - (UNMARKED_AGENT_HOME_MAX_AGE_MS / 1000 + 3600);
    const stale = fakeHome('agentvisor-agent-oldversion');
    const odd = fakeHome('agentvisor-agent-oddlayout');
    fs.writeFileSync(path.join(odd, 'notes.txt'), 'not ours');
    for (const root of [stale, odd]) fs.utimesSync(root, old, old);
    fakeHome('agentvisor-agent-recent');
    expect(sweepStaleAgentHomes({ parent: dir })).toEqual({ removed: [stale], kept: 2 });
  });

  it('should keep a home owned by another user', () => {
    if (process.getuid?.() !== 0) return; // chown to another uid needs root
    const mine = createAgentHome({ parent: dir });
    const deadMarker = JSON.stringify({ ...markerOf(mine.root), startTime: Number(markerOf(mine.root).startTime) + 1 });
    mine.remove();
    const foreign = fakeHome('agentvisor-agent-foreign', deadMarker);
    fs.chownSync(foreign, 54321, 54321);
    expect(sweepStaleAgentHomes({ parent: dir })).toEqual({ removed: [], kept: 1 });
    fs.chownSync(foreign, 0, 0);
    expect(sweepStaleAgentHomes({ parent: dir }).removed).toEqual([foreign]); // the same home, ours: removed
  });

  it('should find nothing in a missing folder and refuse a prefix that is a path', () => {
    expect(sweepStaleAgentHomes({ parent: path.join(dir, 'missing') })).toEqual({ removed: [], kept: 0 });
    for (const prefix of ['', '../x', '.hidden'])
      expect(() => sweepStaleAgentHomes({ parent: dir, prefix })).toThrow(
        expect.objectContaining({ code: 'invalid-option' }),
      );
  });
});
