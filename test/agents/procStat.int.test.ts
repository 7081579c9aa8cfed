import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readProcStat } from '../../src/agents/procStat';

describe('readProcStat', () => {
  it("should read this process's parent, group, state and start time", () => {
    const own = readProcStat(process.pid);
    expect(own).not.toBeNull();
    expect(own!.ppid).toBe(process.ppid);
    expect(own!.state).toBe('R');
    expect(own!.startTime).toBeGreaterThan(0);
    expect(readProcStat('self')?.startTime).toBe(own!.startTime);
  });

  it('should be null for a process that is not there', () => {
    expect(readProcStat(2 ** 22 + 1)).toBeNull();
  });

  it('should count the fields after a command name that holds spaces and parentheses', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'procstat-'));
    // The kernel's command name is the program's file name (its first 15 bytes): `a) b (c) 1 2 3`.
    const program = path.join(dir, 'a) b (c) 1 2 3');
    fs.copyFileSync('/bin/sleep', program);
    fs.chmodSync(program, 0o700);
    const child = spawn(program, ['30'], { detached: true, stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      let stat = readProcStat(child.pid!);
      for (let i = 0; i < 100 && !fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').includes('a) b (c'); i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        stat = readProcStat(child.pid!);
      }
      expect(fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8')).toContain('(a) b (c) 1 2 3)');
      expect(stat).toEqual({
        state: expect.stringMatching(/^[RS]$/),
        ppid: process.pid,
        pgid: child.pid,
        startTime: expect.any(Number),
      });
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
