import path from 'node:path';
import { AgentvisorError } from '../errors';
import type { FakeToolAction } from './fakeScript';

/** The wire format a model request came in. */
export type ModelApi = 'anthropic.messages' | 'openai.responses' | 'openai.chatCompletions';

/** A tool the request offers. `custom` tools (OpenAI freeform) take a string, `function` tools an object. */
export interface OfferedTool {
  readonly name: string;
  readonly kind: 'function' | 'custom';
  /** The namespace item it was listed in (Codex: `functions`, `clock`, …). */
  readonly namespace?: string;
}

/** One concrete call, ready for the wire. */
export interface ResolvedToolCall {
  readonly name: string;
  readonly kind: 'function' | 'custom';
  readonly input: string | Readonly<Record<string, unknown>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function responsesTools(tools: unknown[], namespace: string | undefined, out: OfferedTool[]): void {
  for (const tool of tools) {
    if (!isRecord(tool) || typeof tool.name !== 'string') continue;
    if (tool.type === 'namespace') responsesTools(list(tool.tools), tool.name, out);
    else if (tool.type === 'function' || tool.type === 'custom')
      out.push({ name: tool.name, kind: tool.type, ...(namespace === undefined ? {} : { namespace }) });
  }
}

/**
 * The tools a model request offers: Anthropic `tools[].name`; Responses `tools` plus the tools of
 * `additional_tools` input items (Codex 0.171 lists its tools there, in namespaces); chat
 * `tools[].function.name`.
 *
 * @example
 * offeredTools('anthropic.messages', { tools: [{ name: 'Write', input_schema: {} }] }); // → [{ name: 'Write', kind: 'function' }]
 */
export function offeredTools(api: ModelApi, body: unknown): OfferedTool[] {
  if (!isRecord(body)) return [];
  const out: OfferedTool[] = [];
  if (api === 'anthropic.messages') {
    for (const tool of list(body.tools))
      if (isRecord(tool) && typeof tool.name === 'string') out.push({ name: tool.name, kind: 'function' });
  } else if (api === 'openai.responses') {
    responsesTools(list(body.tools), undefined, out);
    for (const item of list(body.input))
      if (isRecord(item) && item.type === 'additional_tools') responsesTools(list(item.tools), undefined, out);
  } else {
    for (const tool of list(body.tools))
      if (isRecord(tool) && isRecord(tool.function) && typeof tool.function.name === 'string')
        out.push({ name: tool.function.name, kind: 'function' });
  }
  return out;
}

/**
 * Codex's `apply_patch` grammar: an added file is its lines, each with a `+`. Codex always ends
 * the file with a newline (an existing file is replaced).
 *
 * @example
 * addFilePatch('/w/a.txt', 'hi\n'); // → '*** Begin Patch\n*** Add File: /w/a.txt\n+hi\n*** End Patch'
 */
export function addFilePatch(filePath: string, content: string): string {
  const lines = content.endsWith('\n') ? content.slice(0, -1).split('\n') : content.split('\n');
  return ['*** Begin Patch', `*** Add File: ${filePath}`, ...lines.map((line) => `+${line}`), '*** End Patch'].join(
    '\n',
  );
}

/**
 * The JavaScript Codex's `exec` tool runs for an action: a nested `tools.apply_patch` /
 * `tools.exec_command` call, its result handed back with `text()`.
 *
 * @example
 * codexExecSource({ kind: 'shell', command: 'true' }, ''); // → 'const result = await tools.exec_command({ cmd: "true" });\ntext(result);\n'
 */
export function codexExecSource(action: Exclude<FakeToolAction, { kind: 'tool' }>, filePath: string): string {
  if (action.kind === 'shell')
    return `const result = await tools.exec_command({ cmd: ${JSON.stringify(action.command)} });\ntext(result);\n`;
  return `const result = await tools.apply_patch(${JSON.stringify(addFilePatch(filePath, action.content))});\ntext(result);\n`;
}

function unavailable(
  api: ModelApi,
  action: FakeToolAction,
  tools: readonly OfferedTool[],
  wanted: string,
): AgentvisorError {
  return new AgentvisorError(
    'invalid-option',
    `toolCall ${action.kind}: the ${api} request offers no ${wanted} tool (it offers: ${tools.map((tool) => tool.name).join(', ') || 'none'})`,
    {
      details: { field: 'action', api, wanted },
    },
  );
}

/**
 * Turns a provider-neutral action into the call the request's own tools allow: Claude Code's
 * `Write {file_path, content}` / `Bash {command, description}`; Codex's custom `exec` tool with
 * JavaScript calling `tools.apply_patch` / `tools.exec_command` (or the `exec_command` function /
 * custom `apply_patch` tool when offered directly). A relative path is resolved against
 * `workingDirectory`. Throws `AgentvisorError` `invalid-option` (`details.field: 'action'`) when no offered tool fits.
 *
 * @example
 * resolveToolCall('anthropic.messages', body, { kind: 'write', path: 'a.txt', content: 'hi\n' }, '/tmp/w');
 * // → { name: 'Write', kind: 'function', input: { file_path: '/tmp/w/a.txt', content: 'hi\n' } }
 */
export function resolveToolCall(
  api: ModelApi,
  body: unknown,
  action: FakeToolAction,
  workingDirectory: string | undefined,
): ResolvedToolCall {
  const tools = offeredTools(api, body);
  const find = (name: string, kind?: OfferedTool['kind']): OfferedTool | undefined =>
    tools.find((tool) => tool.name === name && (kind === undefined || tool.kind === kind));
  if (action.kind === 'tool') {
    const tool = find(action.name);
    if (tool === undefined) throw unavailable(api, action, tools, action.name);
    if (tool.kind === 'custom')
      return {
        name: tool.name,
        kind: 'custom',
        input: typeof action.input === 'string' ? action.input : JSON.stringify(action.input),
      };
    if (typeof action.input === 'string') {
      throw new AgentvisorError(
        'invalid-option',
        `toolCall tool: ${tool.name} is a function tool and takes an object input, not a string`,
        { details: { field: 'action', api, wanted: tool.name } },
      );
    }
    return { name: tool.name, kind: 'function', input: action.input };
  }
  const filePath =
    action.kind === 'write' && workingDirectory !== undefined
      ? path.resolve(workingDirectory, action.path)
      : action.kind === 'write'
        ? action.path
        : '';
  if (api === 'anthropic.messages') {
    if (action.kind === 'write') {
      if (find('Write') === undefined) throw unavailable(api, action, tools, 'Write');
      return { name: 'Write', kind: 'function', input: { file_path: filePath, content: action.content } };
    }
    if (find('Bash') === undefined) throw unavailable(api, action, tools, 'Bash');
    return { name: 'Bash', kind: 'function', input: { command: action.command, description: 'Run a command' } };
  }
  if (find('exec', 'custom') !== undefined)
    return { name: 'exec', kind: 'custom', input: codexExecSource(action, filePath) };
  if (action.kind === 'shell' && find('exec_command', 'function') !== undefined)
    return { name: 'exec_command', kind: 'function', input: { cmd: action.command } };
  if (action.kind === 'write' && find('apply_patch', 'custom') !== undefined)
    return { name: 'apply_patch', kind: 'custom', input: addFilePatch(filePath, action.content) };
  throw unavailable(api, action, tools, action.kind === 'shell' ? 'exec or exec_command' : 'exec or apply_patch');
}
