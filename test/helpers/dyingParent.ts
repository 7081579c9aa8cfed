/**
 * A parent process for the process-lifetime tests, which kill it with SIGKILL so that no exit hook
 * runs. Run with `node -r ts-node/register/transpile-only test/helpers/dyingParent.ts '<ParentSpec as JSON>'`.
 * - `family`: starts a node program through `startProcess` (with `dieWithParent` as given) that
 *   starts a grandchild in its group and an escaper (own session) with a child; prints `leader <pid>`
 *   (the process group), then passes on the program's `program`, `grandchild`, `escaper` and
 *   `escapee` lines. With `stubborn` they all ignore SIGTERM.
 * - `home`: creates an agent home under `parent`, puts a fake auth.json in its CODEX_HOME and
 *   prints `home <root>`.
 * Then it waits until it is killed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createAgentHome } from '../../src/agents/agentHome';
import { startProcess } from '../../src/agents/processRunner';

export type ParentSpec =
  | {
      readonly mode: 'family';
      readonly dieWithParent: boolean;
      readonly stubborn: boolean;
      readonly killGraceMs: number;
    }
  | { readonly mode: 'home'; readonly parent: string };

/**
 * A node program that starts a grandchild in its group and an escaper in a new session (as Claude
 * Code and Codex start their tool shells) with a child of its own, prints the four pids once all
 * are ready (SIGTERM handlers in place), and runs until killed.
 */
export function familyScript(stubborn: boolean): string {
  const ignoreTerm = stubborn ? "process.on('SIGTERM', () => {});" : '';
  const idle = `${ignoreTerm} console.log(process.pid); setInterval(() => {}, 1000)`;
  const escaper =
    `${ignoreTerm} const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(idle)}], ` +
    "{ stdio: ['ignore', 'inherit', 'ignore'] }); console.log(process.pid); setInterval(() => {}, 1000)";
  return `
    ${ignoreTerm}
    const { spawn } = require('node:child_process');
    const lines = [];
    const collect = (child) => child.stdout.on('data', (d) => {
      lines.push(...String(d).split('\\n').filter(Boolean));
      if (lines.length === 3) console.log('program ' + process.pid + '\\n' + ['grandchild', 'escaper', 'escapee'].map((k) => k + ' ' + pids[k]).join('\\n'));
    });
    const grandchild = spawn(process.execPath, ['-e', ${JSON.stringify(idle)}], { stdio: ['ignore', 'pipe', 'ignore'] });
    const escaper = spawn(process.execPath, ['-e', ${JSON.stringify(escaper)}], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const pids = {
      grandchild: grandchild.pid,
      escaper: escaper.pid,
      get escapee() { return lines.map(Number).find((p) => p !== grandchild.pid && p !== escaper.pid); },
    };
    collect(grandchild);
    collect(escaper);
    setInterval(() => {}, 1000);
  `;
}

function main(spec: ParentSpec): void {
  if (spec.mode === 'home') {
    const home = createAgentHome({ parent: spec.parent });
    fs.writeFileSync(path.join(home.codexHome, 'auth.json'), '{"tokens":"not-a-real-token"}\n', { mode: 0o600 });
    console.log(`home ${home.root}`);
  } else {
    const run = startProcess({
      command: process.execPath,
      args: ['-e', familyScript(spec.stubborn)],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      timeoutMs: 120_000,
      maxOutputBytes: 1 << 16,
      killGraceMs: spec.killGraceMs,
      dieWithParent: spec.dieWithParent,
      onStdout: (text) => process.stdout.write(text),
    });
    console.log(`leader ${run.pid}`);
  }
  setInterval(() => undefined, 1000);
}

main(JSON.parse(process.argv[2] ?? '{}') as ParentSpec);
