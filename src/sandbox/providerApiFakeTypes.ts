import type { ProviderId } from '../../machines/providers';
import type { Secret } from '../../machines/secret';
import type { FakeAuthScheme, FakeScript, FakeStep } from './fakeScript';
import type { FakeRoute } from './fakeRoutes';

/** One request the fake received. Safe to print: the credential is a `Secret`, shown as `[REDACTED]`. */
export interface FakeRequestRecord {
  /** From 1, in arrival order. */
  readonly seq: number;
  /** When it arrived (epoch ms). */
  readonly receivedAt: number;
  readonly method: string;
  /** Path and query as sent (`/v1/messages?beta=true`). */
  readonly path: string;
  readonly route: FakeRoute;
  /**
   * The provider whose API the path belongs to (for `/v1/models` and unknown paths: Anthropic when
   * `anthropic-version` or `x-api-key` was sent).
   */
  readonly provider: ProviderId;
  readonly auth: { readonly scheme: FakeAuthScheme; readonly hint: string; readonly credential: Secret | null };
  /** Request headers without `authorization` and `x-api-key`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly bodyProblem: string | undefined;
  readonly stream: boolean;
  readonly model: string | undefined;
  /** How it was answered; `undefined` until the fake has decided. */
  readonly answer: { readonly status: number; readonly step: FakeStep['type'] | 'auth' | 'route' } | undefined;
}

export interface ProviderApiFakeOptions {
  /**
   * Credentials each provider accepts (API keys and OAuth tokens alike); any other gets the
   * provider's real 401. A provider left out accepts any non-empty credential. A request with no
   * credential always gets a 401.
   */
  readonly keys?: Readonly<Partial<Record<ProviderId, string | readonly string[]>>>;
  /** What model requests get once their provider's queue is empty. @default a `reply` with 'pong' and DEFAULT_FAKE_USAGE */
  readonly script?: Readonly<Partial<Record<ProviderId, FakeScript>>>;
  /**
   * Refuse a Claude login (OAuth) token without `anthropic-beta: oauth-2025-04-20`, as the real API
   * does ("OAuth authentication is currently not supported."). A Bearer that is an API key
   * (`sk-ant-api…`, as the official SDK sends it) needs no beta. @default true
   */
  readonly requireOAuthBeta?: boolean;
  /**
   * Called with each request as it is recorded (before it is answered), in order: a test can act
   * on the Nth model request without polling `requests`. @default none
   */
  readonly onRequest?: (request: FakeRequestRecord) => void;
  /** Told about unknown routes (method, path, provider); never given a secret. @default no logging */
  readonly log?: (line: string) => void;
  /** @default 0 (a random free port) */
  readonly port?: number;
}

export interface ProviderApiFake {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  /** For `ANTHROPIC_BASE_URL` (the API root: Anthropic clients add `/v1/...`). */
  readonly anthropicBaseUrl: string;
  /** For OpenAI clients and Codex's `base_url` (ends in `/v1`). */
  readonly openaiBaseUrl: string;
  /** Every request received, in order (a live view). */
  readonly requests: readonly FakeRequestRecord[];
  /** Requests for paths the fake does not serve (answered 404 as the real APIs do). */
  unknownRequests(): FakeRequestRecord[];
  /** One-shot steps for the provider's next model requests, used before its script. */
  enqueue(provider: ProviderId, ...steps: FakeStep[]): void;
  /**
   * One-shot steps for the provider's next `GET /v1/models` (a key check such as `agentvisor
   * test`): `reply` lists the models with its `headers` (rate-limit headers, say), `error` sends the
   * fault, `cut` drops the connection; `delayMs` holds the answer back. Without a step: the list.
   */
  enqueueModels(provider: ProviderId, ...steps: FakeStep[]): void;
  /** Replaces the provider's standing script; `undefined` restores the default reply. */
  setScript(provider: ProviderId, script: FakeScript | undefined): void;
  /** Forgets the recorded requests (queues and scripts stay). */
  clearRequests(): void;
  /** Model requests of the provider being answered now (what a script sees as `inFlight`, without the next one). */
  inFlight(provider: ProviderId): number;
  /** Destroys open connections (hanging streams included) and stops listening. */
  close(): Promise<void>;
}
