// Mutation testing of machines/ by file group (docs/testing.md "Mutation testing (StrykerJS)").
//
//   npm run mutate                                  # every file of machines/ against every test (stryker.config.json)
//   npm run mutate -- --group budget,topUps         # each group against only the test files that exercise it
//   npm run mutate -- --group budget --mutate machines/budget.ts:40-52   # further arguments go to `stryker run`
//   npm run mutate -- --list                        # the groups and their files
//   npm run mutate -- --group budget --rerun        # only the mutants that survived reports/mutation/budget.json
//   npm run mutate -- --summary [--markdown]        # per file of reports/mutation/*.json: counts, score, survivors
//
// A survivor no test can kill (an equivalent mutant) is explained in scripts/mutantNotes/<group>.json; --summary shows
// the reason, marks a survivor without one "not analysed" and fails on a note that matches no survivor.
//
// Stryker's jest runner loads every test file of its testMatch for each mutant (it filters by test name only),
// so a group runs with the few test files that import or drive its files: a few seconds per mutant instead of
// ~13 s for all of test/machines. A mutant that only a test outside the group would kill counts as survived, so
// a group's score is a lower bound of the score over every test.
//
// This file is also the Stryker config of a group run: Stryker imports it with MUTATE_GROUP set.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The test files (under test/machines/) that drive the coordinator machine and its actions. */
const COORDINATOR_TESTS = [
  'coordinator.test.ts',
  'coordinatorRestore.test.ts',
  'agentSessionDecisions.test.ts',
  'operatorControls.test.ts',
  'coordinatorGuards.mutants.test.ts',
];

/** The test files that drive the agent session machine and its actions. */
const AGENT_SESSION_TESTS = [
  'agentSession.test.ts',
  'contextSize.test.ts',
  'agentSessionDecisions.test.ts',
  'coordinator.test.ts',
  'agentSession.mutants.test.ts',
];

/** Group name → the files of machines/ it mutates and the test files of test/machines/ it runs. */
export const GROUPS = {
  budget: {
    mutate: ['budget.ts'],
    tests: [
      'budget.test.ts',
      'budget.mutants.test.ts',
      'admissionQueue.test.ts',
      'ledgerAdmission.test.ts',
      ...COORDINATOR_TESTS,
    ],
  },
  topUps: { mutate: ['topUps.ts'], tests: ['topUps.mutants.test.ts', ...COORDINATOR_TESTS] },
  providerHealth: {
    mutate: ['providerHealth.ts', 'providers.ts'],
    tests: [
      'providerHealth.test.ts',
      'providerHealth.mutants.test.ts',
      'nextDueAt.mutants.test.ts',
      ...COORDINATOR_TESTS,
    ],
  },
  coordinatorContext: {
    mutate: ['coordinatorContext.ts'],
    tests: [
      ...COORDINATOR_TESTS,
      'coordinatorContext.mutants.test.ts',
      'sessionSupervisor.mutants.test.ts',
      'coordinatorHealthActions.mutants.test.ts',
    ],
  },
  sessionSupervisor: {
    mutate: ['sessionSupervisor.ts', 'coordinatorSideEffect.ts'],
    tests: [...COORDINATOR_TESTS, 'coordinatorSideEffect.mutants.test.ts', 'sessionSupervisor.mutants.test.ts'],
  },
  coordinatorActions: {
    mutate: ['coordinatorActions.ts', 'coordinatorClockActions.ts', 'coordinatorHealthActions.ts'],
    tests: [
      ...COORDINATOR_TESTS,
      'coordinatorHealthActions.mutants.test.ts',
      'coordinatorClockActions.mutants.test.ts',
      'sessionSupervisor.mutants.test.ts',
    ],
  },
  coordinatorFallbackActions: {
    mutate: ['coordinatorFallbackActions.ts'],
    tests: [...COORDINATOR_TESTS, 'coordinatorFallbackActions.mutants.test.ts'],
  },
  coordinatorLedgerActions: {
    mutate: ['coordinatorLedgerActions.ts'],
    tests: [...COORDINATOR_TESTS, 'coordinatorLedgerActions.mutants.test.ts'],
  },
  coordinatorSessionActions: {
    mutate: ['coordinatorSessionActions.ts'],
    tests: [...COORDINATOR_TESTS, 'coordinatorSessionActions.mutants.test.ts'],
  },
  coordinatorAdmissionActions: {
    mutate: ['coordinatorAdmissionActions.ts'],
    tests: [...COORDINATOR_TESTS, 'coordinatorAdmissionActions.mutants.test.ts'],
  },
  agentSessionActions: { mutate: ['agentSessionActions.ts'], tests: AGENT_SESSION_TESTS },
  agentSessionMachine: { mutate: ['agentSession.machine.ts'], tests: AGENT_SESSION_TESTS },
  coordinatorMachine: {
    mutate: ['coordinator.machine.ts'],
    tests: [...COORDINATOR_TESTS, 'coordinator.machine.mutants.test.ts'],
  },
};

/**
 * Why a mutant that no test kills may stay alive: scripts/mutantNotes/<group>.json, a list of
 * `{ "at": "file.ts:line", "mutator": "...", "replacement": "...", "why": "Equivalent: ..." }`, one per
 * surviving mutant that was analysed (one file per group, so that groups can be worked on apart).
 * `replacement` is the report's replacement text exactly; a note that matches no surviving mutant fails the summary.
 */
function mutantNotes() {
  const dir = 'scripts/mutantNotes';
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .flatMap((name) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')).map((note) => ({ ...note, from: name })));
}

/** A mutant's identity across runs of the same source. */
const mutantKey = ({ location: { start, end }, mutatorName, replacement }) =>
  `${start.line}:${start.column}-${end.line}:${end.column}:${mutatorName}:${replacement}`;

/** `file:line:column-line:column` of every mutant that survived or had no coverage in the group's report. */
function survivorRanges(name) {
  const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, 'utf8'));
  return Object.entries(report.files).flatMap(([file, { mutants }]) =>
    mutants
      .filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')
      // The report's columns count from 1, a mutate range's from 0.
      .map(({ location: { start, end } }) => `${file}:${start.line}:${start.column - 1}-${end.line}:${end.column - 1}`),
  );
}

/**
 * The Stryker config of one group: stryker.config.json with the group's files, tests and report file. A rerun
 * mutates only what survived the group's last full run and reports to `<group>.rerun.json`.
 */
function groupConfig(name, rerun = false) {
  const group = GROUPS[name];
  if (group === undefined) throw new Error(`unknown mutation group "${name}": ${Object.keys(GROUPS).join(', ')}`);
  // A renamed file would otherwise drop out of the run silently and lower (or empty) the group's score.
  const missing = [
    ...group.mutate.map((file) => `machines/${file}`),
    ...group.tests.map((file) => `test/machines/${file}`),
  ].filter((file) => !existsSync(file));
  if (missing.length > 0)
    throw new Error(`mutation group "${name}" names files that do not exist: ${missing.join(', ')}`);
  const base = JSON.parse(readFileSync('stryker.config.json', 'utf8'));
  return {
    ...base,
    mutate: rerun ? survivorRanges(name) : group.mutate.map((file) => `machines/${file}`),
    jest: {
      ...base.jest,
      config: {
        ...base.jest.config,
        roots: ['<rootDir>/test/machines'], // jest crawls its roots on every run: once per mutant
        testMatch: group.tests.map((file) => `<rootDir>/test/machines/${file}`),
      },
    },
    // The group's tests run in about a second: a mutant that loops is cut off after seconds, not 20 s.
    timeoutMS: 5000,
    jsonReporter: { fileName: `reports/mutation/${name}${rerun ? '.rerun' : ''}.json` },
  };
}

/**
 * The mutants of every file in the group reports of reports/mutation/, each survivor that a rerun of its group
 * killed counted as killed (the rerun's tests include the group's, so a mutant the full run killed stays killed),
 * with the test that killed it. `markdown`: the rows of the tables of docs/testing.md "Score".
 */
function summary(markdown) {
  const files = new Map();
  const listed = readdirSync('reports/mutation');
  for (const name of listed.filter((n) => /^[A-Za-z]+\.json$/.test(n) && n !== 'mutation.json')) {
    const report = JSON.parse(readFileSync(`reports/mutation/${name}`, 'utf8'));
    const rerunName = name.replace('.json', '.rerun.json');
    const rerun = listed.includes(rerunName) ? JSON.parse(readFileSync(`reports/mutation/${rerunName}`, 'utf8')) : null;
    const testNames = new Map(
      Object.entries(rerun?.testFiles ?? {}).flatMap(([testFile, { tests }]) =>
        tests.map((t) => [t.id, `${path.basename(testFile)} "${t.name}"`]),
      ),
    );
    for (const [file, { mutants, source }] of Object.entries(report.files)) {
      const after = new Map((rerun?.files[file]?.mutants ?? []).map((m) => [mutantKey(m), m]));
      const merged = mutants.map((m) => {
        const again = after.get(mutantKey(m));
        if (again === undefined || (m.status !== 'Survived' && m.status !== 'NoCoverage'))
          return { ...m, first: m.status };
        return {
          ...m,
          first: m.status,
          status: again.status,
          by: (again.killedBy ?? []).map((id) => testNames.get(id)),
        };
      });
      files.set(file, { name, mutants: merged, source, rerun: rerun?.files[file] !== undefined });
    }
  }
  const columns = ['Killed', 'Survived', 'Timeout', 'NoCoverage', 'RuntimeError'];
  const score = (run, key) => {
    const n = (status) => run.filter((m) => m[key] === status).length;
    const detected = n('Killed') + n('Timeout');
    return `${((100 * detected) / (detected + n('Survived') + n('NoCoverage'))).toFixed(2)}%`;
  };
  const survivors = [];
  const all = [];
  const notes = mutantNotes();
  const used = new Set();
  const noteFor = (short, m) => {
    const note = notes.find(
      (n) =>
        n.at === `${short}:${m.location.start.line}` && n.mutator === m.mutatorName && n.replacement === m.replacement,
    );
    if (note !== undefined) used.add(note);
    return note;
  };
  for (const [file, { name, mutants, source, rerun }] of [...files].sort()) {
    const run = mutants.filter((m) => m.status !== 'Ignored');
    all.push(...run);
    const count = columns.map((status) => run.filter((m) => m.status === status).length);
    const short = path.basename(file);
    if (markdown)
      console.log(
        `| ${short} | ${run.length} | ${count.join(' | ')} | ${score(run, 'first')} | ${score(run, 'status')} |`,
      );
    else
      console.log(
        `${file} (${name}${rerun ? ' + rerun' : ''}): ${run.length} mutants,`,
        columns.map((c, i) => `${c} ${count[i]}`).join(', '),
        `score ${score(run, 'status')}`,
      );
    const lines = source.split('\n');
    for (const m of run.filter((x) => x.first === 'Survived' || x.first === 'NoCoverage')) {
      const { start, end } = m.location;
      const text =
        start.line === end.line
          ? lines[start.line - 1].slice(start.column - 1, end.column - 1)
          : `${lines[start.line - 1].trim()} …`;
      const shorten = (t) => (t.length > 70 ? `${t.slice(0, 67)}…` : t).replace(/\s+/g, ' ').replace(/\|/g, '\\|');
      const note = m.status === 'Killed' || m.status === 'Timeout' ? undefined : noteFor(short, m);
      const outcome =
        m.status === 'Killed'
          ? `killed by ${[...new Set(m.by)].slice(0, 2).join(', ')}`
          : note !== undefined
            ? note.why.replace(/\|/g, '\\|')
            : `${m.status}: not analysed`;
      survivors.push(
        `| ${short}:${start.line} | ${m.first} | ${m.mutatorName} | \`${shorten(text)}\` → \`${shorten(m.replacement ?? '')}\` | ${outcome} |`,
      );
    }
  }
  const total = columns.map((status) => all.filter((m) => m.status === status).length);
  if (markdown)
    console.log(
      `| **Total** | ${all.length} | ${total.join(' | ')} | ${score(all, 'first')} | ${score(all, 'status')} |`,
    );
  console.log(markdown ? `\n${survivors.join('\n')}` : survivors.map((row) => `  ${row}`).join('\n'));
  const stale = notes.filter((n) => !used.has(n));
  if (stale.length > 0) {
    for (const n of stale) console.error(`${n.from}: no surviving mutant at ${n.at} ${n.mutator} → ${n.replacement}`);
    return 1;
  }
  return 0;
}

function main(args) {
  if (args.includes('--summary')) return summary(args.includes('--markdown')) ?? 0;
  if (args.includes('--list')) {
    for (const [name, group] of Object.entries(GROUPS)) console.log(`${name}: ${group.mutate.join(', ')}`);
    return 0;
  }
  const at = args.indexOf('--group');
  const stryker = ['node_modules/.bin/stryker', 'run'];
  if (at === -1) return spawnSync(stryker[0], [...stryker.slice(1), ...args], { stdio: 'inherit' }).status ?? 1;
  const names = (args[at + 1] ?? '').split(',').filter(Boolean);
  const rerun = args.includes('--rerun');
  const rest = [...args.slice(0, at), ...args.slice(at + 2)].filter((arg) => arg !== '--rerun');
  for (const name of names) {
    groupConfig(name, rerun); // fails early on an unknown name or a missing report
    const preload = `--require ${path.resolve('scripts/mutantUncaught.cjs')}`;
    const env = {
      ...process.env,
      MUTATE_GROUP: name,
      ...(rerun ? { MUTATE_RERUN: '1' } : {}),
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${preload}`.trim(),
    };
    const run = spawnSync(stryker[0], [...stryker.slice(1), 'scripts/mutateGroups.mjs', ...rest], {
      stdio: 'inherit',
      env,
    });
    if (run.status !== 0) return run.status ?? 1;
  }
  return 0;
}

export default process.env.MUTATE_GROUP === undefined
  ? undefined
  : groupConfig(process.env.MUTATE_GROUP, process.env.MUTATE_RERUN === '1');

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = main(process.argv.slice(2));
