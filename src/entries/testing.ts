/**
 * `agentvisor/testing`: what a host's tests need to run agents without a provider or a wall clock:
 * the loopback provider API fake and its scripts, the simulated provider, and the manual clock.
 * See docs/sandbox.md.
 */
export * from '../sandbox';
export { createManualClock, systemClock } from '../orchestrator/clock';
export type { Clock, ClockTimer, ManualClock } from '../orchestrator/clock';
