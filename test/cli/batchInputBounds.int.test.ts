/**
 * `agentvisor batch` reads what it is given up to a bound: an endless stdin, /dev/zero, a FIFO or a
 * huge journal is refused with exit 2 and a message, never read into memory until the process dies.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_JOURNAL_BYTES, readBatchJournal } from '../../src/agents/batchJournal';
import { MAX_TASKS_FILE_BYTES } from '../../src/agents/batchTasks';
import { startCli } from '../helpers/batchCli';

jest.setTimeout(120_000);

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentvisor-batch-bounds-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function refusal(stderr: string): string {
  return stderr.trim().split('\n').at(-1) ?? '';
}

describe('agentvisor batch input bounds', () => {
  it('should refuse an endless stdin with exit 2 once the bound is passed, and stop reading it', async () => {
    const run = startCli(['batch', '-'], { cwd: dir, home: dir, stdinPipe: true, timeoutMs: 100_000 });
    const stdin = run.stdin!;
    const chunk = Buffer.from('y\n'.repeat(32 * 1024));
    let written = 0;
    let open = true;
    stdin.on('error', () => (open = false));
    stdin.on('close', () => (open = false));
    const pump = (): void => {
      while (open && stdin.write(chunk)) written += chunk.length;
      if (open) {
        written += chunk.length;
        stdin.once('drain', pump);
      }
    };
    pump();
    const { status, stdout, stderr } = await run.done;
    open = false;
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(refusal(stderr)).toBe(
      'agentvisor: the tasks in stdin hold more than 64 MB: split them into several batches, ' +
        'and put long instructions in files the tasks name [invalid-option]',
    );
    // It read past the bound, then stopped: nothing close to the gigabytes an endless writer would push.
    expect(written).toBeGreaterThan(MAX_TASKS_FILE_BYTES);
    expect(written).toBeLessThan(4 * MAX_TASKS_FILE_BYTES);
  });

  it('should refuse /dev/zero as a tasks file with exit 2', async () => {
    const { status, stderr } = await startCli(['batch', '/dev/zero'], { cwd: dir, home: dir, timeoutMs: 100_000 }).done;
    expect(status).toBe(2);
    expect(refusal(stderr)).toContain('agentvisor: the tasks in /dev/zero hold more than 64 MB');
  });

  it.each([
    ['a FIFO no one writes to', 'fifo'],
    ['/dev/zero', '/dev/zero'],
  ])('should refuse %s as the journal to resume from, at once and unread', async (_name, journal) => {
    const tasks = path.join(dir, 'tasks.jsonl');
    fs.writeFileSync(tasks, '{"id":"a","task":"say pong"}\n');
    let journalPath = journal;
    if (journal === 'fifo') {
      journalPath = path.join(dir, 'journal.fifo');
      expect(spawnSync('mkfifo', [journalPath]).status).toBe(0);
    }
    const { status, stderr } = await startCli(['batch', tasks, '--resume', '--journal', journalPath], {
      cwd: dir,
      home: dir,
      timeoutMs: 60_000,
    }).done;
    expect(status).toBe(2);
    expect(refusal(stderr)).toBe(
      `agentvisor: the journal file ${journalPath} is not a regular file; refusing to use it. ` +
        'Name a new file (or remove this one if it is an old journal). [invalid-option]',
    );
  });

  it('should refuse a journal bigger than the bound without reading it', () => {
    const journal = path.join(dir, 'big.journal');
    // A sparse file: its size is past the bound, its blocks are not on disk.
    fs.writeFileSync(journal, '');
    fs.truncateSync(journal, MAX_JOURNAL_BYTES + 1);
    expect(() => readBatchJournal(journal)).toThrow(
      expect.objectContaining({
        code: 'invalid-option',
        message:
          `the journal file ${journal} holds more than 64 MB (${MAX_JOURNAL_BYTES + 1} bytes); refusing to use it. ` +
          'Name a new file (or remove this one if it is an old journal).',
      }),
    );
  });

  it('should still read a journal a batch wrote', () => {
    const journal = path.join(dir, 'ok.journal');
    fs.writeFileSync(
      journal,
      '{"type":"batch","startedAt":"2026-12-08T04:00:00.000Z","tasks":1,"resumed":false}\n' +
        '{"type":"task","id":"a","fingerprint":"f","ok":true}\n',
    );
    expect(readBatchJournal(journal).entries).toEqual([{ type: 'task', id: 'a', fingerprint: 'f', ok: true }]);
  });
});
