/** What the benchmark ran on, for the report. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  readonly date: string;
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly platform: string;
  /** The commit measured, with a note when src/ or machines/ had uncommitted changes. */
  readonly commit: string;
}

function commit(root: string): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const head = git('log', '-1', '--format=%h (%cI)');
    const dirty = git('status', '--porcelain', '--', 'src', 'machines') !== '';
    return dirty ? `${head} + uncommitted changes in src/ or machines/` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function cpuModel(): string {
  try {
    const line = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    const model = line?.split(':').slice(1).join(':').trim();
    if (model) return model;
  } catch {
    // Not Linux: fall back to what Node reports.
  }
  return os.cpus()[0]?.model.trim() ?? 'unknown';
}

export function machineInfo(root: string): MachineInfo {
  return {
    commit: commit(root),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    node: process.version,
    cpu: cpuModel(),
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}
