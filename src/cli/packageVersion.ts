import fs from 'node:fs';
import path from 'node:path';

/**
 * agentvisor's version from its package.json: the first one named `agentvisor` above this file
 * (src/cli from source, dist/src/cli when installed), or `0.0.0` when none is found.
 *
 * @example packageVersion() // '0.1.0'
 */
export function packageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === 'agentvisor' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no (readable) package.json here: look further up
    }
    if (path.dirname(dir) === dir) return '0.0.0';
  }
}
