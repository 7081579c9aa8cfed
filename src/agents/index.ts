export { runProcess, startProcess } from './processRunner';
export type { RunProcessOptions, ProcessResult, RunningProcess, SpawnFailure } from './processRunner';
export { OutputCapture } from './outputCapture';
