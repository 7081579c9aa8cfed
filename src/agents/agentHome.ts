import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeOwnerMarker } from './agentHomeOwner';

/**
 * The config-migration version Claude Code 2.1.x (2.1.197) writes to `.claude.json` once it has
 * migrated a config folder. A fresh folder seeded with it skips that step: 50-100 ms of rewrites of
 * `.claude.json` with nothing to migrate. A Claude Code that expects another version runs its
 * migrations as it would in an empty folder.
 */
export const CLAUDE_CODE_MIGRATION_VERSION = 13;

/**
 * What Claude Code 2.1.x writes to a fresh config folder's `.claude.json` on its first run, each
 * write fsynced with a backup copy: the migration version, its first start time and two random
 * 32-byte ids (`userID`, `machineID`: `randomBytes(32)` in Claude Code, sent with telemetry, which
 * agentvisor turns off). Seeded with all four, a run writes nothing there (observed with strace:
 * three writes and fsyncs before, none after). The ids are drawn per home, so no two agents share
 * one; nothing in the seed comes from the user's own config, and nothing in it is a credential.
 *
 * @example claudeCodeConfigSeed(new Date(0)).migrationVersion // 13
 */
export function claudeCodeConfigSeed(now: Date = new Date()): Readonly<Record<string, string | number>> {
  return {
    migrationVersion: CLAUDE_CODE_MIGRATION_VERSION,
    firstStartTime: now.toISOString(),
    userID: randomBytes(32).toString('hex'),
    machineID: randomBytes(32).toString('hex'),
  };
}

/** One agent's private folders: its HOME, Claude Code's config folder, Codex's CODEX_HOME and its TMPDIR. */
export interface AgentHome {
  /** The temp folder holding everything below (mode 0700) and the `owner.json` marker `sweepStaleAgentHomes` reads. */
  readonly root: string;
  /** `HOME` for the agent process. */
  readonly home: string;
  /**
   * `CLAUDE_CONFIG_DIR`: Claude Code writes its transcripts here. It starts with a `.claude.json`
   * that holds what a first run would write there (`claudeCodeConfigSeed`).
   */
  readonly claudeConfigDir: string;
  /** `CODEX_HOME`, created (Codex refuses a missing folder); a ChatGPT login's auth.json goes here. */
  readonly codexHome: string;
  /**
   * `TMPDIR`: the agent's own temp folder, removed with the rest. Outside `CODEX_HOME` on purpose:
   * with a system `bwrap` installed, Codex's sandbox cannot find its helper when CODEX_HOME is under
   * the temp folder (every sandboxed command fails with "execvp codex-linux-sandbox").
   */
  readonly tmpDir: string;
  /** Deletes the whole folder; safe to call twice. */
  remove(): void;
  /**
   * Deletes the whole folder without blocking the event loop, so other work (releasing the
   * session) goes on meanwhile: a used home takes 10-40 ms of rmdir calls. Safe to call twice.
   */
  removeAsync(): Promise<void>;
}

export interface AgentHomeOptions {
  /** Where the temp folder is created. @default os.tmpdir() */
  readonly parent?: string;
  /** @default 'agentvisor-agent-' */
  readonly prefix?: string;
}

/**
 * Creates a fresh home for one agent task, every folder mode 0700, so the agent CLIs keep their
 * state (config, transcripts, a ChatGPT auth.json) away from the user's own and from other agents.
 * Remove it when the task ends. Its root holds an owner marker (this process's pid and start time),
 * so that `sweepStaleAgentHomes` can remove it if this process is killed before it could.
 *
 * @example
 * const home = createAgentHome();
 * try { run({ HOME: home.home, CODEX_HOME: home.codexHome }); } finally { home.remove(); }
 * // or, beside other clean-up: const removed = home.removeAsync(); await release(); await removed;
 */
export function createAgentHome(options: AgentHomeOptions = {}): AgentHome {
  const root = fs.realpathSync(
    fs.mkdtempSync(path.join(options.parent ?? os.tmpdir(), options.prefix ?? 'agentvisor-agent-')),
  );
  const remove = (): void => fs.rmSync(root, { recursive: true, force: true, maxRetries: 2 });
  const removeAsync = (): Promise<void> => fs.promises.rm(root, { recursive: true, force: true, maxRetries: 2 });
  const home = path.join(root, 'home');
  const claudeConfigDir = path.join(home, '.claude');
  const codexHome = path.join(home, '.codex');
  const tmpDir = path.join(root, 'tmp');
  try {
    fs.chmodSync(root, 0o700);
    // The marker comes first: a sweep never sees this home without one (bar the instant after mkdtemp).
    writeOwnerMarker(root);
    for (const dir of [home, claudeConfigDir, codexHome, tmpDir]) fs.mkdirSync(dir, { mode: 0o700 });
    fs.writeFileSync(path.join(claudeConfigDir, '.claude.json'), `${JSON.stringify(claudeCodeConfigSeed())}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (error) {
    remove();
    throw error;
  }
  return { root, home, claudeConfigDir, codexHome, tmpDir, remove, removeAsync };
}
