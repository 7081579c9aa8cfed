import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { Command } from 'commander';
import { ERROR_CODES } from '../../src/errors';
import { machineDocs } from '../../scripts/machineDocList';
import { buildProgram } from '../../src/cli/main';
import { orchestratorOptionsSchema } from '../../src/orchestrator/optionsSchema';
import { spawnOptionsSchema } from '../../src/orchestrator/spawnOptionsSchema';
import { batchOptionsSchema, taskOptionsSchema } from '../../src/agents/taskOptionsSchema';

const root = path.join(__dirname, '..', '..');
const doc = (name: string): string => fs.readFileSync(path.join(root, name), 'utf8');

/** The option names in the first column of the markdown table whose header row starts with `header`. */
function tableOptions(text: string, header: string): string[] {
  const lines = text.split('\n').map((line) => line.trim());
  const start = lines.findIndex((line) => line.startsWith(header));
  expect(start).toBeGreaterThanOrEqual(0);
  const names: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    names.push(...[...(line.split('|')[1] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1]!));
  }
  return names.sort();
}

/** The `## name` / `### name` sections of a page, by heading. */
function sections(text: string): Map<string, string> {
  const parts = text.split(/^#{2,3} /m).slice(1);
  return new Map(parts.map((part) => [part.split('\n')[0]!.trim(), part]));
}

const longFlags = (command: Command): string[] =>
  command.options.map((option) => option.long ?? '').filter((flag) => flag !== '--help');

describe('docs', () => {
  it('should name every error code in docs/errors.md', () => {
    const text = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8');
    const missing = ERROR_CODES.filter((code) => !text.includes(`\`${code}\``));
    expect(missing).toEqual([]);
  });

  it('should have machine diagrams generated from the current machine definitions (run npm run docs:machines)', () => {
    for (const doc of machineDocs()) {
      const file = path.join(root, 'docs', 'machines', doc.file);
      expect(fs.existsSync(file)).toBe(true);
      expect(fs.readFileSync(file, 'utf8')).toBe(doc.content);
    }
  });

  it('should list in docs/api.md exactly the options of createOrchestrator and spawnAgent that their schemas take', () => {
    const api = doc('docs/api.md');
    expect(tableOptions(api, '| option | default | meaning |')).toEqual(
      Object.keys(orchestratorOptionsSchema().shape).sort(),
    );
    expect(tableOptions(api, '| spawn option |')).toEqual(Object.keys(spawnOptionsSchema().shape).sort());
  });

  it('should list in docs/agents.md exactly the options of runAgentTask and runAgentBatch that their schemas take', () => {
    const agents = doc('docs/agents.md');
    expect(tableOptions(agents, '| option | default | |')).toEqual(Object.keys(taskOptionsSchema().shape).sort());
    const signature = /`runAgentBatch\(orch, tasks, \{([^}]*)\}\)`/.exec(agents);
    expect(signature).not.toBeNull();
    const documented = [...(signature?.[1] ?? '').matchAll(/\w+/g)].map((m) => m[0]).sort();
    expect(documented).toEqual(Object.keys(batchOptionsSchema().shape).sort());
  });

  it('should document every CLI option in its command section of docs/cli.md, and no option a command lacks', () => {
    const cli = doc('docs/cli.md');
    const bySection = sections(cli);
    const program = buildProgram();
    const globals = longFlags(program);
    const head = cli.slice(0, cli.indexOf('\n## '));
    const observability = bySection.get('Observability options') ?? '';
    expect(globals.filter((flag) => !head.includes(`\`${flag}`) && !observability.includes(`\`${flag}`))).toEqual([]);
    // Flags the page quotes on purpose: a mistyped one, and the Codex CLI's own.
    const quoted = new Set(['--apikey', '--with-api-key']);
    const problems: string[] = [];
    for (const command of program.commands.filter((c) => c.name() !== 'help')) {
      const text = bySection.get(command.name()) ?? '';
      if (text === '') problems.push(`${command.name()}: no section`);
      const own = (command.commands.length > 0 ? command.commands : [command]).flatMap(longFlags);
      for (const flag of own) if (!text.includes(flag)) problems.push(`${command.name()}: ${flag} undocumented`);
      const known = new Set([...own, ...globals, '--help', ...quoted]);
      for (const [flag] of text.matchAll(/(?<![\w-])--[a-z][a-z-]*/g))
        if (!known.has(flag)) problems.push(`${command.name()}: ${flag} is not an option`);
    }
    expect([...new Set(problems)]).toEqual([]);
  });

  it('should export from each entry point the names docs/api.md says it exports, and every type api.md names', () => {
    const api = doc('docs/api.md');
    const entries: Record<string, string> = {
      agentvisor: 'src/index.ts',
      'agentvisor/ledger': 'src/entries/ledger.ts',
      'agentvisor/failures': 'src/entries/failures.ts',
      'agentvisor/testing': 'src/entries/testing.ts',
      'agentvisor/machines': 'machines/index.ts',
    };
    const program = ts.createProgram(
      Object.values(entries).map((file) => path.join(root, file)),
      { strict: true, noEmit: true, skipLibCheck: true, esModuleInterop: true },
    );
    const checker = program.getTypeChecker();
    const exported = new Map<string, Set<string>>();
    for (const [entry, file] of Object.entries(entries)) {
      const module = checker.getSymbolAtLocation(program.getSourceFile(path.join(root, file))!)!;
      exported.set(entry, new Set(checker.getExportsOfModule(module).map((symbol) => symbol.name)));
    }
    const problems: string[] = [];
    for (const line of api.split('\n').filter((l) => l.startsWith('| `agentvisor'))) {
      const [, entry = ''] = /^\| `([\w/]+)`/.exec(line) ?? [];
      const names = [...(line.split('|')[2] ?? '').matchAll(/`(\w+)`/g)].map((m) => m[1]!);
      for (const name of names) if (!exported.get(entry)?.has(name)) problems.push(`${entry} does not export ${name}`);
    }
    // Types named in the page (PascalCase) must be importable; Logger is pino's, Headers the Fetch API's.
    const everywhere = new Set([...exported.values()].flatMap((names) => [...names]));
    const foreign = new Set(['Logger', 'Headers']);
    for (const [, name] of api.matchAll(/`([A-Z][a-z]\w*)`/g))
      if (!everywhere.has(name!) && !foreign.has(name!)) problems.push(`no entry point exports ${name}`);
    expect([...new Set(problems)]).toEqual([]);
  });
});
