import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { TokenUsage } from '../providers';
import type { PermissionDenial } from './agentRunReading';
import { createLiveUsageReader } from './liveUsage';
import type { LiveUsageReader } from './liveUsage';

/** What a Codex run's rollout files showed while it ran. */
export interface CodexRolloutWatch {
  /** Usage handed to `onUsage` so far. */
  readonly counted: TokenUsage;
  /** Tool calls Codex's sandbox refused (a patch or a write blocked by the read-only sandbox). */
  readonly denials: readonly PermissionDenial[];
  /** Reads what is left and stops watching. */
  stop(): void;
}

/** Refusals as Codex words them in a tool's output (codex 0.171). */
const REFUSAL = /writing is blocked by read-only sandbox|rejected by user approval settings|Read-only file system/;
const REFUSED_PATH = /(?:cannot create|cannot touch|can't create|cannot open) '?([^':\n]+)'?: Read-only file system/;
const MAX_READ_BYTES = 4 << 20;

interface Tailed {
  offset: number;
  partial: string;
  readonly decoder: StringDecoder;
  readonly reader: LiveUsageReader;
}

function tailed(offset: number): Tailed {
  return { offset, partial: '', decoder: new StringDecoder('utf8'), reader: createLiveUsageReader('codex') };
}

function rolloutFiles(sessions: string): string[] {
  try {
    return (fs.readdirSync(sessions, { recursive: true, encoding: 'utf8' }) as string[])
      .filter((name) => path.basename(name).startsWith('rollout-') && name.endsWith('.jsonl'))
      .map((name) => path.join(sessions, name));
  } catch {
    return [];
  }
}

function refusalOf(line: string): PermissionDenial | null {
  if (!line.includes('_call_output') || !REFUSAL.test(line)) return null;
  let text = line;
  try {
    text = JSON.stringify((JSON.parse(line) as { payload?: { output?: unknown } }).payload?.output ?? '');
  } catch {
    return null;
  }
  const match = REFUSAL.exec(text);
  if (match === null) return null;
  const target = REFUSED_PATH.exec(text.replace(/\\n/g, '\n'))?.[1] ?? null;
  return {
    tool: match[0].startsWith('Read-only') ? 'exec_command' : 'apply_patch',
    target: target === null ? null : target.slice(0, 200),
  };
}

/**
 * Follows a Codex run's rollout file (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`): Codex
 * prints usage on stdout only once, when the whole exec ends, but writes a `token_count` event to
 * its rollout after every model response. Files that existed before the watch (an earlier run of
 * the same task) are read only from where they ended. Polls every `intervalMs` (unref'd).
 *
 * @example
 * const watch = watchCodexRollout(home.codexHome, (usage) => agent.reportUsage(usage));
 * await run.result; watch.stop();
 */
export function watchCodexRollout(
  codexHome: string,
  onUsage: (usage: TokenUsage) => void,
  intervalMs = 200,
): CodexRolloutWatch {
  const sessions = path.join(codexHome, 'sessions');
  const files = new Map<string, Tailed>();
  const denials: PermissionDenial[] = [];
  let counted: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  for (const file of rolloutFiles(sessions))
    files.set(file, tailed(fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0));

  const readFile = (file: string, tail: Tailed): void => {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const size = fs.fstatSync(fd).size;
      while (tail.offset < size) {
        const buffer = Buffer.alloc(Math.min(size - tail.offset, MAX_READ_BYTES));
        const read = fs.readSync(fd, buffer, 0, buffer.length, tail.offset);
        if (read <= 0) break;
        tail.offset += read;
        const lines = (tail.partial + tail.decoder.write(buffer.subarray(0, read))).split('\n');
        tail.partial = lines.pop() ?? '';
        for (const line of lines) {
          const denial = refusalOf(line);
          if (denial !== null) denials.push(denial);
          for (const usage of tail.reader.push(`${line}\n`)) {
            counted = {
              inputTokens: counted.inputTokens + usage.inputTokens,
              outputTokens: counted.outputTokens + usage.outputTokens,
            };
            onUsage(usage);
          }
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  };
  const poll = (): void => {
    for (const file of rolloutFiles(sessions)) {
      let tail = files.get(file);
      if (tail === undefined) {
        tail = tailed(0);
        files.set(file, tail);
      }
      readFile(file, tail);
    }
  };
  const timer = setInterval(poll, intervalMs);
  timer.unref();
  return {
    get counted() {
      return counted;
    },
    denials,
    stop: () => {
      clearInterval(timer);
      poll();
    },
  };
}
