/** The providers agentvisor budgets for. Ids are stable: they key limits, stats and events. */
export const PROVIDER_IDS = ['claude', 'openai'] as const;

export type ProviderId = (typeof PROVIDER_IDS)[number];

export function isProviderId(value: unknown): value is ProviderId {
  return (PROVIDER_IDS as readonly unknown[]).includes(value);
}
