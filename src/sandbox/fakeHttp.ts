import type http from 'node:http';
import zlib from 'node:zlib';
import { Secret } from '../../machines/secret';
import { keyHint } from '../providers';
import type { FakeAuthScheme } from './fakeScript';
import type { SseEvent } from './fakeWire';
import { formatSse } from './fakeWire';

/** Request bodies above this are refused (413): real CLI requests are well under 1 MB. */
export const MAX_REQUEST_BYTES = 20 * 1024 * 1024;

export interface ReadBody {
  /** The parsed JSON body; `undefined` when there was none or it could not be read. */
  readonly json: unknown;
  readonly bytes: number;
  /** Why the body could not be read (`too-large`, `unsupported-encoding:zstd`, `invalid-json`). */
  readonly problem?: string;
}

function decoded(raw: Buffer, encoding: string | undefined): Buffer | string {
  switch ((encoding ?? 'identity').toLowerCase()) {
    case 'identity':
      return raw;
    case 'gzip':
      return zlib.gunzipSync(raw);
    case 'deflate':
      return zlib.inflateSync(raw);
    case 'br':
      return zlib.brotliDecompressSync(raw);
    default:
      // Node 20 has no zstd: the request is still recorded and answered, its body marked unread.
      return `unsupported-encoding:${encoding}`;
  }
}

/** Reads and parses a JSON request body, decompressing gzip, deflate and br. Never throws. */
export function readJsonBody(req: http.IncomingMessage): Promise<ReadBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_REQUEST_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => resolve({ json: undefined, bytes, problem: 'aborted' }));
    req.on('end', () => {
      if (tooLarge) return resolve({ json: undefined, bytes, problem: 'too-large' });
      if (bytes === 0) return resolve({ json: undefined, bytes });
      try {
        const body = decoded(Buffer.concat(chunks), req.headers['content-encoding']);
        if (typeof body === 'string') return resolve({ json: undefined, bytes, problem: body });
        resolve({ json: JSON.parse(body.toString('utf8')) as unknown, bytes });
      } catch {
        resolve({ json: undefined, bytes, problem: 'invalid-json' });
      }
    });
  });
}

export interface PresentedCredential {
  readonly scheme: FakeAuthScheme;
  /** The credential; only `reveal()` shows it. */
  readonly credential: Secret | null;
  /** What may be printed: the prefix and the last four characters. */
  readonly hint: string;
  /**
   * A Claude login (OAuth) token rather than an API key, told by its prefix, not by the header:
   * a Bearer that is not an Anthropic API key (`sk-ant-api…`). The official Anthropic SDK (1.x)
   * sends API keys as `Authorization: Bearer` too; Claude Code sends its login as a Bearer.
   */
  readonly login: boolean;
}

/** Anthropic API keys (`sk-ant-api03-…`); a Claude login token starts `sk-ant-oat01-`. */
const ANTHROPIC_API_KEY_PREFIX = 'sk-ant-api';

function hintOf(value: string): string {
  const prefix = /^sk-ant-[a-z]{3}\d{2}-/.exec(value)?.[0] ?? /^sk-(proj-)?/.exec(value)?.[0] ?? '';
  return keyHint(value, prefix);
}

/**
 * The credential a request presents: `x-api-key` wins (Anthropic API keys), else an
 * `Authorization: Bearer` token (Anthropic API keys from the SDK, Claude login tokens, OpenAI keys).
 */
export function presentedCredential(headers: http.IncomingHttpHeaders): PresentedCredential {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '')
    return { scheme: 'x-api-key', credential: new Secret(apiKey), hint: hintOf(apiKey), login: false };
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
  if (bearer !== undefined)
    return {
      scheme: 'bearer',
      credential: new Secret(bearer),
      hint: hintOf(bearer),
      login: !bearer.startsWith(ANTHROPIC_API_KEY_PREFIX),
    };
  return { scheme: 'none', credential: null, hint: '', login: false };
}

/** Request headers worth recording, without the two that carry credentials. */
export function recordableHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'authorization' || name === 'x-api-key' || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function startSse(res: http.ServerResponse, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...headers,
  });
  res.flushHeaders();
}

export function writeSse(res: http.ServerResponse, events: readonly SseEvent[]): void {
  for (const event of events) res.write(formatSse(event));
}
