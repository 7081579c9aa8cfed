/**
 * The config file's schema: its groups are the `createOrchestrator` option schemas of src/options,
 * so the file and the options cannot drift. Built on first use (lazySchema): zod loads only when a
 * file is checked or the JSON Schema generated.
 */
import type { z } from 'zod';
import { failurePolicySchema } from '../options/failurePolicyOptions';
import { lazySchema } from '../schema/lazySchema';
import { ledgerSchema } from '../options/ledgerOptions';
import {
  fallbackChainSchema,
  limitsSchema,
  providerPrioritySchema,
  providerSwitchesSchema,
} from '../options/providerOptions';
import type { ConfigFileSettings } from './configTypes';

/**
 * The whole file: every group optional, nothing else allowed.
 *
 * @example configFileSchema().safeParse(JSON.parse(text)).success
 */
export const configFileSchema = lazySchema((zod) =>
  zod
    .strictObject({
      $schema: zod
        .string({ error: 'expected a string' })
        .optional()
        .meta({ description: 'The JSON Schema this file follows, for editors; ignored by agentvisor.' }),
      limits: limitsSchema().optional(),
      fallbackChain: fallbackChainSchema().optional(),
      providerPriority: providerPrioritySchema().optional(),
      providers: providerSwitchesSchema().optional(),
      failurePolicy: failurePolicySchema().optional(),
      ledger: ledgerSchema().optional(),
    })
    .meta({
      title: 'agentvisor config file',
      description:
        'Settings every agentvisor command and createOrchestrator({ configFile }) read: <home>/agentvisor/config.json. ' +
        'Flags and options given in code override it.',
    }),
);

/** What the schema accepts; it must stay assignable to the option types it mirrors. */
export type ConfigFileInput = z.infer<ReturnType<typeof configFileSchema>>;
/**
 * The validated file as option settings. Fails to compile when the schema and the option types it
 * mirrors drift apart; only `ledger` is narrowed by hand, as its refinement allows exactly one of
 * `file` and `redis`.
 *
 * @example const settings = asSettings(configFileSchema().parse(JSON.parse(text)));
 */
export function asSettings(value: ConfigFileInput): ConfigFileSettings {
  const { ledger, ...rest } = value;
  return ledger === undefined ? rest : { ...rest, ledger: ledger as ConfigFileSettings['ledger'] };
}
