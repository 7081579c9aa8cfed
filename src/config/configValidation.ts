import { configProblems } from './configProblems';
import { asSettings, configFileSchema } from './configSchema';
import type { ConfigValidation } from './configTypes';

/**
 * Checks a parsed config file against the schema. Loads zod: configFile.ts requires this module
 * only when there is a file to check.
 *
 * @example
 * const checked = validateConfig(JSON.parse(text));
 * if (!checked.ok) console.log(checked.problems[0]); // { field: 'limits.claude.dailyLimit', message: 'expected a whole number ≥ 0, got -5' }
 */
export function validateConfig(value: unknown): ConfigValidation {
  const result = configFileSchema().safeParse(value);
  if (result.success) return { ok: true, settings: asSettings(result.data) };
  return { ok: false, problems: configProblems(configFileSchema(), value, result.error.issues) };
}
