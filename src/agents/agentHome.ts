import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One agent's private folders: its HOME, Claude Code's config folder and Codex's CODEX_HOME. */
export interface AgentHome {
  /** The temp folder holding everything below (mode 0700). */
  readonly root: string;
  /** `HOME` for the agent process. */
  readonly home: string;
  /** `CLAUDE_CONFIG_DIR`: Claude Code writes `.claude.json` and its transcripts here. */
  readonly claudeConfigDir: string;
  /** `CODEX_HOME`, created (Codex refuses a missing folder); a ChatGPT login's auth.json goes here. */
  readonly codexHome: string;
  /** Deletes the whole folder; safe to call twice. */
  remove(): void;
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
 * Remove it when the task ends.
 *
 * @example
 * const home = createAgentHome();
 * try { run({ HOME: home.home, CODEX_HOME: home.codexHome }); } finally { home.remove(); }
 */
export function createAgentHome(options: AgentHomeOptions = {}): AgentHome {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(options.parent ?? os.tmpdir(), options.prefix ?? 'agentvisor-agent-')));
  fs.chmodSync(root, 0o700);
  const home = path.join(root, 'home');
  const claudeConfigDir = path.join(home, '.claude');
  const codexHome = path.join(home, '.codex');
  for (const dir of [home, claudeConfigDir, codexHome]) fs.mkdirSync(dir, { mode: 0o700 });
  return {
    root,
    home,
    claudeConfigDir,
    codexHome,
    remove: () => fs.rmSync(root, { recursive: true, force: true, maxRetries: 2 }),
  };
}
