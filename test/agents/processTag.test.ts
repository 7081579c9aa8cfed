/**
 * taggedProcesses finds the live processes whose environment carries a tag, read from /proc: one
 * with a small environment, one whose environment is larger than the buffer a scan reads into (the
 * tag after 100 KB of other variables), and none for a tag nobody carries.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { PROCESS_TAG_VAR, newProcessTag, taggedProcesses } from '../../src/agents/processTag';

const children: ChildProcess[] = [];

/** A process that lives until the test ends, with `env` as its whole environment. */
function sleeper(env: Record<string, string>): number {
  const child = spawn('/bin/sleep', ['60'], { env, stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

afterEach(async () => {
  await Promise.all(
    children
      .splice(0)
      .map(
        (child) =>
          new Promise((resolve) =>
            child.exitCode !== null || child.signalCode !== null
              ? resolve(null)
              : (child.once('exit', resolve), child.kill('SIGKILL')),
          ),
      ),
  );
});

describe('taggedProcesses', () => {
  it('should find a tagged process whether its environment is small or larger than the read buffer', () => {
    const tag = newProcessTag();
    const small = sleeper({ [PROCESS_TAG_VAR]: tag });
    const large = sleeper({ PADDING: 'x'.repeat(100_000), [PROCESS_TAG_VAR]: tag, AFTER: 'y' });
    const other = sleeper({ [PROCESS_TAG_VAR]: newProcessTag() });
    const found = taggedProcesses(tag);
    expect([...found].sort((a, b) => a - b)).toEqual([small, large].sort((a, b) => a - b));
    expect(found).not.toContain(other);
  });

  it('should not match a tag that is only a prefix of the one a process carries', () => {
    const tag = newProcessTag();
    sleeper({ [PROCESS_TAG_VAR]: `${tag}0` });
    expect(taggedProcesses(tag)).toEqual([]);
  });
});
