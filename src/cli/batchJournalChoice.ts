import fs from 'node:fs';
import path from 'node:path';
import { AgentvisorError } from '../errors';

/** Where a batch keeps its journal of finished tasks, and whether it resumes from it. */
export interface JournalChoice {
  /** null: no journal (`--no-journal`, or tasks from stdin without `--journal`). */
  readonly file: string | null;
  readonly resume: boolean;
}

/** What commander gives for `--journal <file>` / `--no-journal` and `--resume [journal]`. */
export interface JournalFlags {
  readonly journal?: string | boolean;
  readonly resume?: string | boolean;
}

function invalid(message: string): AgentvisorError {
  return new AgentvisorError('invalid-option', message, { details: { field: 'journal' } });
}

/** The real location of a path that may not exist yet: its folder's real path and its name. */
function realLocation(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(path.resolve(file))), path.basename(file));
    } catch {
      return path.resolve(file);
    }
  }
}

/** Whether two paths name one file: the same real location, or the same inode (a hard link). */
function sameFile(a: string, b: string): boolean {
  if (realLocation(a) === realLocation(b)) return true;
  try {
    const [x, y] = [fs.statSync(a), fs.statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

function checked(tasksFile: string, choice: JournalChoice): JournalChoice {
  if (choice.file !== null && tasksFile !== '-' && sameFile(tasksFile, choice.file)) {
    throw invalid(
      `the journal ${choice.file} is the tasks file ${tasksFile}: writing the journal would overwrite the tasks; name another --journal file`,
    );
  }
  return choice;
}

/**
 * The journal a batch writes: `--journal <file>`, else `<tasks file>.journal` (none for stdin, or
 * with `--no-journal`). `--resume` reads that journal first; `--resume <file>` names it. A journal
 * that is the tasks file itself (after resolving links, or a hard link to it) is refused.
 *
 * @example resolveJournalChoice('tasks.jsonl', { resume: true }) // { file: 'tasks.jsonl.journal', resume: true }
 */
export function resolveJournalChoice(tasksFile: string, flags: JournalFlags): JournalChoice {
  return checked(tasksFile, chooseJournal(tasksFile, flags));
}

function chooseJournal(tasksFile: string, flags: JournalFlags): JournalChoice {
  const named = typeof flags.journal === 'string' ? flags.journal : null;
  const fallback = tasksFile === '-' ? null : `${tasksFile}.journal`;
  if (flags.resume === undefined || flags.resume === false) {
    return { file: flags.journal === false ? null : (named ?? fallback), resume: false };
  }
  if (flags.journal === false)
    throw invalid('--resume reads the journal and --no-journal turns it off: give one of them');
  if (typeof flags.resume === 'string') {
    if (named !== null && named !== flags.resume)
      throw invalid(`--resume ${flags.resume} and --journal ${named} name different journals: give one`);
    return { file: flags.resume, resume: true };
  }
  const file = named ?? fallback;
  if (file === null)
    throw invalid('tasks read from stdin have no default journal: resume with --resume <journal file>');
  return { file, resume: true };
}
