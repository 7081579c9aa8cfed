/**
 * The whole-suite secret scan: a test collects everything agentvisor let out (log lines, audit
 * files, metrics text, inspection messages, errors, events, CLI output) into channels, then checks
 * that no test secret appears in any of them — in full, base64- or URL-encoded, or as a long middle
 * stretch (a key that was cut or re-quoted). Reports name the channel and the secret's label, never
 * the secret.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import util from 'node:util';
import { WebSocketServer } from 'ws';

/** A secret the test planted, with a label for reports. */
export interface PlantedSecret {
  readonly label: string;
  readonly value: string;
}

export interface Leak {
  readonly channel: string;
  /** Which captured text of the channel (0-based). */
  readonly index: number;
  readonly label: string;
  /** `value`, `base64`, `url-encoded` or `fragment`. */
  readonly form: string;
}

/** JSON that tolerates cycles and bigints. */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return typeof v === 'bigint' ? String(v) : v;
    }) ?? String(value)
  );
}

/** The forms of a secret the scan looks for. */
export function secretForms(value: string): { readonly form: string; readonly text: string }[] {
  const forms = [
    { form: 'value', text: value },
    { form: 'base64', text: Buffer.from(value).toString('base64') },
    { form: 'url-encoded', text: encodeURIComponent(value) },
  ];
  // A hint shows a prefix and the last 4 characters: a middle stretch is never part of one.
  if (value.length >= 24) forms.push({ form: 'fragment', text: value.slice(10, -6) });
  return forms.filter((f, i) => forms.findIndex((g) => g.text === f.text) === i);
}

export class OutputCapture {
  readonly #channels = new Map<string, string[]>();

  /** Adds text, or any value (an error with its message, stack and fields; an object as JSON and as util.inspect shows it). */
  add(channel: string, value: unknown): void {
    const texts = this.#channels.get(channel) ?? [];
    this.#channels.set(channel, texts);
    if (typeof value === 'string') {
      texts.push(value);
      return;
    }
    if (value instanceof Error) {
      texts.push(`${value.name}: ${value.message}\n${value.stack ?? ''}`, String(value));
    }
    texts.push(safeJson(value), util.inspect(value, { depth: 12 }));
  }

  /** A stream whose every chunk is captured (for a logger's destination). */
  stream(channel: string): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _encoding, callback) => {
        this.add(channel, String(chunk));
        callback();
      },
    });
  }

  /** Captures every file under a folder (audit files, credential files the CLI rewrote are NOT for this). */
  addFolder(channel: string, dir: string): void {
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (fs.statSync(file).isDirectory()) this.addFolder(channel, file);
      else this.add(channel, fs.readFileSync(file, 'utf8'));
    }
  }

  /** The captured texts of a channel. */
  texts(channel: string): readonly string[] {
    return this.#channels.get(channel) ?? [];
  }

  /** How many texts each channel holds. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#channels].map(([name, texts]) => [name, texts.length]));
  }

  /** Every place a planted secret shows up. */
  scan(secrets: readonly PlantedSecret[]): Leak[] {
    const leaks: Leak[] = [];
    for (const [channel, texts] of this.#channels) {
      texts.forEach((text, index) => {
        for (const secret of secrets) {
          for (const { form, text: needle } of secretForms(secret.value)) {
            if (text.includes(needle)) leaks.push({ channel, index, label: secret.label, form });
          }
        }
      });
    }
    return leaks;
  }
}

/** A report of leaks that does not repeat the secrets. */
export function describeLeaks(leaks: readonly Leak[]): string[] {
  return leaks.map((l) => `${l.label} (${l.form}) in ${l.channel}[${l.index}]`);
}

/**
 * A local WebSocket server standing in for the inspector relay: every message it receives is
 * captured in `channel`; `received()` counts them.
 */
export async function startWsCapture(
  capture: OutputCapture,
  channel: string,
): Promise<{ readonly url: string; readonly received: () => number; stop(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  let received = 0;
  server.on('connection', (socket) => {
    socket.on('message', (data: Buffer) => {
      received += 1;
      capture.add(channel, data.toString('utf8'));
    });
  });
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    received: () => received,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
