/** How to start one agent CLI run: its arguments (never a shell string) and its whole environment. */
export interface AgentInvocation {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}
