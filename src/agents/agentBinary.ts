import fs from 'node:fs';
import path from 'node:path';
import { AgentvisorError } from '../errors';
import { AGENT_CLIS } from './agentCli';
import type { AgentCliId } from './agentCli';

export interface ResolveAgentBinaryOptions {
  /** Where `AGENTVISOR_*_BIN` and `PATH` are read. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A relative override and `./node_modules/.bin` are taken from here. @default process.cwd() */
  readonly cwd?: string;
  /** agentvisor's own package folder (its node_modules/.bin is the last place looked). @default found from this file */
  readonly packageRoot?: string | null;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let cachedRoot: string | null | undefined;

/**
 * The nearest folder above this file with agentvisor's package.json (src/agents in a checkout,
 * dist/src/agents when built), or null.
 *
 * @example path.join(agentvisorPackageRoot()!, 'node_modules', '.bin') // where the devDependency CLIs are
 */
export function agentvisorPackageRoot(): string | null {
  if (cachedRoot !== undefined) return cachedRoot;
  cachedRoot = null;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'agentvisor') {
        cachedRoot = dir;
        break;
      }
    } catch {
      // no package.json here, or not ours: keep going up
    }
    if (path.dirname(dir) === dir) break;
  }
  return cachedRoot;
}

/**
 * Finds an agent CLI: `AGENTVISOR_CLAUDE_BIN` / `AGENTVISOR_CODEX_BIN` when set (a path, or a name
 * looked up on PATH), else `claude` / `codex` on `PATH`, else in `./node_modules/.bin`, else in
 * agentvisor's own node_modules/.bin. Throws `AgentvisorError('agent-not-found')` saying where it
 * looked and how to install it.
 *
 * @example
 * resolveAgentBinary('codex', { env: { PATH: '/usr/bin' } }) // '/work/project/node_modules/.bin/codex'
 */
export function resolveAgentBinary(cli: AgentCliId, options: ResolveAgentBinaryOptions = {}): string {
  const spec = AGENT_CLIS[cli];
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const pathDirs = (env.PATH ?? '').split(path.delimiter).filter((dir) => dir !== '');
  const onPath = (name: string): string | null => {
    for (const dir of pathDirs) {
      const file = path.resolve(cwd, dir, name);
      if (isExecutableFile(file)) return file;
    }
    return null;
  };

  const override = env[spec.binEnv]?.trim();
  if (override !== undefined && override !== '') {
    const found = override.includes('/')
      ? isExecutableFile(path.resolve(cwd, override))
        ? path.resolve(cwd, override)
        : null
      : onPath(override);
    if (found !== null) return found;
    throw new AgentvisorError(
      'agent-not-found',
      `${spec.binEnv} names ${JSON.stringify(override)}, which is not an executable file: fix the path or unset ${spec.binEnv}`,
      {
        details: { cli, command: override, reason: 'override-not-executable' },
      },
    );
  }

  const fromPath = onPath(spec.bin);
  if (fromPath !== null) return fromPath;
  const packageRoot = options.packageRoot === undefined ? agentvisorPackageRoot() : options.packageRoot;
  const binDirs = [
    path.join(cwd, 'node_modules', '.bin'),
    ...(packageRoot === null ? [] : [path.join(packageRoot, 'node_modules', '.bin')]),
  ];
  for (const dir of binDirs) {
    const file = path.join(dir, spec.bin);
    if (isExecutableFile(file)) return file;
  }
  throw new AgentvisorError(
    'agent-not-found',
    `${spec.bin} (${cli}) was not found on PATH or in ${[...new Set(binDirs)].join(', ')}: ` +
      `install it (npm i -D ${spec.npmPackage}) or set ${spec.binEnv} to its path`,
    { details: { cli, command: spec.bin, reason: 'not-found' } },
  );
}
