/**
 * The longest task an agent CLI can be given: the task is one command-line argument, and Linux takes
 * at most 128 KiB in one, its terminating NUL included (MAX_ARG_STRLEN); past it the CLI cannot start (E2BIG).
 */
export const MAX_TASK_BYTES = 128 * 1024 - 1;

/**
 * What makes a task text unusable, as a sentence that says what to do, or null when it is usable:
 * empty or blank, a NUL character, or longer than `MAX_TASK_BYTES` in UTF-8.
 *
 * @example taskTextProblem('  ') // 'the task is empty: say what the agent should do'
 */
export function taskTextProblem(task: string): string | null {
  if (task.trim() === '') return 'the task is empty: say what the agent should do';
  if (task.includes('\0')) return 'the task contains a NUL character, which no command-line argument can hold';
  const bytes = Buffer.byteLength(task, 'utf8');
  if (bytes > MAX_TASK_BYTES)
    return (
      `the task is ${bytes} bytes, more than the ${MAX_TASK_BYTES} an agent CLI can take as one argument: ` +
      `put the long text in a file in the working folder and ask the agent to read it`
    );
  return null;
}
