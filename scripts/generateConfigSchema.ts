/**
 * Writes schema/config.schema.json (shipped in the package, for editors) from the config file's zod
 * schema. Run: npx ts-node --transpile-only scripts/generateConfigSchema.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { configFileSchema } from '../src/config/configSchema';

/** Where the generated schema is committed. */
export const CONFIG_SCHEMA_FILE = path.join(__dirname, '..', 'schema', 'config.schema.json');

/** The command that regenerates it, for messages. */
export const GENERATE_CONFIG_SCHEMA = 'npx ts-node --transpile-only scripts/generateConfigSchema.ts';

/**
 * The JSON Schema of the config file, as the committed file holds it.
 *
 * @example fs.writeFileSync(CONFIG_SCHEMA_FILE, configJsonSchema());
 */
export function configJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(configFileSchema()), null, 2)}\n`;
}

if (require.main === module) {
  fs.mkdirSync(path.dirname(CONFIG_SCHEMA_FILE), { recursive: true });
  fs.writeFileSync(CONFIG_SCHEMA_FILE, configJsonSchema());
  console.log(`wrote ${path.relative(process.cwd(), CONFIG_SCHEMA_FILE)}`);
}
