/**
 * The options of `runAgentTask` and `runAgentBatch`: strict objects, so a misspelt option is
 * refused with a "did you mean" hint. Built on first use (lazySchema). The values each part checks
 * further where it uses them (the sandbox mode, Claude Code's retries, the process runner's limits)
 * keep those checks; these schemas are what a caller sees first.
 */
import type { z } from 'zod';
import { lazySchema } from '../schema/lazySchema';
import { MAX_TIMER_MS, functionSchema, nonEmptyString, providerListSchema, wholeNumber } from '../schema/schemaParts';
import { MAX_CLAUDE_MAX_RETRIES } from './claudeCodeCli';
import { MAX_OUTPUT_BYTES, MAX_TIMEOUT_MS } from './processRunner';
import { SANDBOX_MODES } from './agentSandbox';
import { MAX_TASK_BYTES } from './taskText';
import type { AgentTaskOptions } from './agentTaskTypes';
import type { AgentBatchOptions } from './runAgentBatch';

const MAX_ESTIMATE = 1_000_000_000;

/** The options a batch's `task` defaults and a single task share. */
function sharedTaskFields(zod: typeof z) {
  return {
    cwd: nonEmptyString('a folder path').optional(),
    sandbox: zod.enum(SANDBOX_MODES, { error: `expected one of ${SANDBOX_MODES.join(', ')}` }).optional(),
    maxTokens: wholeNumber(1, MAX_ESTIMATE).optional(),
    worktree: zod.boolean({ error: 'expected true or false' }).optional(),
    claudeMaxRetries: wholeNumber(0, MAX_CLAUDE_MAX_RETRIES).optional(),
    maxOutputBytes: wholeNumber(0, MAX_OUTPUT_BYTES).optional(),
    killGraceMs: wholeNumber(0, MAX_TIMEOUT_MS).optional(),
    hostEnv: zod
      .custom<NonNullable<AgentTaskOptions['hostEnv']>>(
        (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
        { error: 'expected an object of variables such as process.env' },
      )
      .optional(),
    tempDir: nonEmptyString('a folder path').optional(),
  };
}

function abortSignal(zod: typeof z) {
  return zod.custom<AbortSignal>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as { aborted?: unknown }).aborted === 'boolean' &&
      typeof (v as { addEventListener?: unknown }).addEventListener === 'function',
    {
      error: 'expected an AbortSignal',
    },
  );
}

/**
 * Every option of `runAgentTask` (docs/api.md has the table).
 *
 * @example taskOptionsSchema().safeParse({ task: 'add a test', estimatedTokens: 50_000 }).success // true
 */
export const taskOptionsSchema = lazySchema((z) =>
  z.strictObject({
    task: z
      .string({ error: 'expected a non-empty string without NUL characters' })
      .refine((s) => s.trim() !== '' && !s.includes('\0'), {
        error: 'expected a non-empty string without NUL characters',
      })
      .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_TASK_BYTES, {
        error: `expected at most ${MAX_TASK_BYTES} bytes (an agent CLI takes the task as one argument): put long text in a file the task names`,
      }),
    estimatedTokens: wholeNumber(1, MAX_ESTIMATE),
    agent: z.enum(['auto', 'claude-code', 'codex'], { error: "expected 'auto', 'claude-code' or 'codex'" }).optional(),
    agentId: z
      .string({ error: 'expected 1-128 characters of letters, digits and _ . : @ / -' })
      .regex(/^[\w.:@/-]{1,128}$/, { error: 'expected 1-128 characters of letters, digits and _ . : @ / -' })
      .optional(),
    ...sharedTaskFields(z),
    timeoutMs: wholeNumber(1, MAX_TIMEOUT_MS).optional(),
    waitMs: wholeNumber(0, MAX_TIMER_MS).optional(),
    signal: abortSignal(z).optional(),
    admissionSignal: abortSignal(z).optional(),
    onEvent: functionSchema<NonNullable<AgentTaskOptions['onEvent']>>('a function (event) => void').optional(),
  } satisfies Record<keyof AgentTaskOptions, unknown>),
);

/**
 * Every option of `runAgentBatch` (docs/api.md has the table).
 *
 * @example batchOptionsSchema().safeParse({ concurrency: 6, task: { sandbox: 'read-only' } }).success // true
 */
export const batchOptionsSchema = lazySchema((z) =>
  z.strictObject({
    concurrency: wholeNumber(1, 1000).optional(),
    timeoutMs: wholeNumber(1, MAX_TIMEOUT_MS).optional(),
    waitMs: wholeNumber(0, MAX_TIMER_MS).optional(),
    signal: abortSignal(z).optional(),
    task: z
      .strictObject(sharedTaskFields(z) satisfies Record<keyof NonNullable<AgentBatchOptions['task']>, unknown>)
      .optional(),
    providers: providerListSchema().optional(),
    waitForResetMs: z
      .number({ error: 'expected a number of milliseconds, 0 or more' })
      .min(0, { error: 'expected a number of milliseconds, 0 or more' })
      .optional(),
    onEvent: functionSchema<NonNullable<AgentBatchOptions['onEvent']>>('a function (task, event) => void').optional(),
    onResult: functionSchema<NonNullable<AgentBatchOptions['onResult']>>(
      'a function (task, result) => void',
    ).optional(),
    onPause: functionSchema<NonNullable<AgentBatchOptions['onPause']>>('a function (pause) => void').optional(),
    onUsageLimit: functionSchema<NonNullable<AgentBatchOptions['onUsageLimit']>>(
      'a function (task, result) => void',
    ).optional(),
    workspaces: z
      .custom<NonNullable<AgentBatchOptions['workspaces']>>(
        (v) => typeof v === 'object' && v !== null && Array.isArray((v as { places?: unknown }).places),
        { error: 'expected the result of planBatchWorkspaces' },
      )
      .optional(),
  } satisfies Record<keyof AgentBatchOptions, unknown>),
);
