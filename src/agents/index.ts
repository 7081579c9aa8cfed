export { runProcess, startProcess } from './processRunner';
export type { RunProcessOptions, ProcessResult, RunningProcess, SpawnFailure } from './processRunner';
export { OutputCapture } from './outputCapture';
export { AGENT_CLI_IDS, AGENT_CLIS, cliForProvider, parseAgentChoice } from './agentCli';
export type { AgentChoice, AgentCliId, AgentCliSpec } from './agentCli';
export { resolveAgentBinary, agentvisorPackageRoot } from './agentBinary';
export type { ResolveAgentBinaryOptions } from './agentBinary';
export { createAgentHome } from './agentHome';
export type { AgentHome, AgentHomeOptions } from './agentHome';
export { agentPath, agentProcessEnv } from './agentProcessEnv';
export type { AgentInvocation } from './agentInvocation';
export { claudeCodeInvocation, readClaudeCodeRun, DEFAULT_CLAUDE_MAX_RETRIES } from './claudeCodeCli';
export type { ClaudeCodeInvocationInput } from './claudeCodeCli';
export {
  codexInvocation,
  codexProviderOverrides,
  readCodexRun,
  CODEX_PROVIDER_NAME,
  OPENAI_DEFAULT_BASE_URL,
} from './codexCli';
export type { CodexInvocationInput, CodexProviderAuth } from './codexCli';
export { chatGptLoginFromEnv, writeCodexChatGptAuth } from './codexChatGptAuth';
export type { ChatGptSessionLogin } from './codexChatGptAuth';
export { runAgentCli } from './agentCliRun';
export type { AgentCliRunEnd, AgentCliRunInput } from './agentCliRun';
export { runAgentTask, runPlannedTask, DEFAULT_TASK_TIMEOUT_MS } from './runAgentTask';
export type {
  AgentTaskError,
  AgentTaskEvent,
  AgentTaskFallback,
  AgentTaskOptions,
  AgentTaskResult,
  AgentTaskUsage,
  TaskWorktreeResult,
} from './agentTaskTypes';
export type { AgentRunReading, PermissionDenial } from './agentRunReading';
export { permissionDenials } from './claudeCodeCli';
export { TaskMeter } from './taskMeter';
export { commitMessage, openTaskWorkspace } from './taskWorkspace';
export type { TaskWorkspace, TaskWorkspaceInput } from './taskWorkspace';
export { createTaskWorktree, finishTaskWorktree, planWorktrees, TASK_BRANCH_PREFIX } from './taskWorktree';
export type {
  CreateTaskWorktreeOptions,
  FinishTaskWorktreeOptions,
  TaskWorktree,
  WorktreeOutcome,
  WorktreePlan,
} from './taskWorktree';
export { MAX_TASKS_FILE_BYTES, parseBatchTasks } from './batchTasks';
export type { BatchTask, ParseBatchTasksOptions } from './batchTasks';
export { planBatchWorkspaces, runAgentBatch } from './runAgentBatch';
export type {
  AgentBatchOptions,
  AgentBatchResult,
  AgentBatchTaskResult,
  BatchWorkspaces,
  TaskPlace,
} from './runAgentBatch';
export { DEFAULT_WAIT_FOR_RESET_MS } from './runAgentBatch';
export { pauseDecision } from './batchPause';
export type { BatchPause } from './batchPause';
export { agentFailureReport } from './agentFailureReport';
export { reportFailureFrom, usageFromAnthropic, usageFromOpenAI } from './sdkUsage';
export { openBatchJournal, readBatchJournal, succeededTasks, taskFingerprint } from './batchJournal';
export type { BatchJournal, BatchJournalEntry, BatchJournalReading } from './batchJournal';
export {
  CLAUDE_WORKSPACE_SETTINGS,
  DEFAULT_SANDBOX_MODE,
  SANDBOX_MODES,
  describeSandbox,
  parseSandboxMode,
  sandboxArgs,
} from './agentSandbox';
export type { SandboxMode } from './agentSandbox';
export { createLiveUsageReader, remainder } from './liveUsage';
export type { LiveUsageReader } from './liveUsage';
export type { GitOptions } from './gitCommand';
export { sweepStaleAgentHomes, UNMARKED_AGENT_HOME_MAX_AGE_MS } from './staleAgentHomes';
export type { SweepAgentHomesOptions, AgentHomeSweep } from './staleAgentHomes';
