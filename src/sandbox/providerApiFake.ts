import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderId } from '../../machines/providers';
import { finish, jsonAnswer, modelsList, streamPlan, successHeaders } from './fakeAnswers';
import { asKeyList, authRefusal } from './fakeAuth';
import { providerErrorAnswer, requestId, unknownRouteAnswer } from './fakeErrors';
import type { ProviderErrorAnswer } from './fakeErrors';
import { presentedCredential, readJsonBody, recordableHeaders, sendJson, startSse, writeSse } from './fakeHttp';
import { DEFAULT_FAKE_TEXT, DEFAULT_FAKE_USAGE } from './fakeScript';
import type { FakeModelRequest, FakeScript, FakeStep } from './fakeScript';
import { viewRequest } from './fakeRequestView';
import { routeOf } from './fakeRoutes';
import { resolveToolCall } from './fakeToolCall';
import type { ResolvedToolCall } from './fakeToolCall';
import { anthropicStreamError, openAiResponseFailed } from './fakeWire';
import type { ReplyContent } from './fakeWire';
import type { FakeRequestRecord, ProviderApiFake, ProviderApiFakeOptions } from './providerApiFakeTypes';

export { FAKE_ROUTES } from './fakeRoutes';
export type { FakeRoute } from './fakeRoutes';
export type { FakeRequestRecord, ProviderApiFake, ProviderApiFakeOptions } from './providerApiFakeTypes';

const DEFAULT_MODELS: Readonly<Record<ProviderId, string>> = { claude: 'claude-sonnet-4-5', openai: 'gpt-5' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Starts a loopback HTTP fake of the Anthropic and OpenAI APIs on 127.0.0.1 (a random port),
 * speaking their real wire formats, so real clients (Claude Code, Codex CLI, the SDKs) can run
 * against it:
 * - Anthropic: `POST /v1/messages` (JSON, or SSE with `stream: true`), `POST /v1/messages/count_tokens`,
 *   `GET /v1/models`; an API key as `x-api-key` or `Authorization: Bearer` (the official SDK 1.x),
 *   a login token (`sk-ant-oat…`) as a Bearer with `anthropic-beta: oauth-2025-04-20`.
 * - OpenAI: `POST /v1/responses` (SSE or JSON), `POST /v1/chat/completions` (JSON or SSE), `GET /v1/models`; Bearer.
 * - Anything else: the provider's 404, recorded as `unknown` and logged.
 * Model requests are answered by the provider's queued steps, then its script, then a default reply.
 *
 * @example
 * const fake = await startProviderApiFake({ keys: { claude: 'sk-ant-api03-…' } });
 * fake.enqueue('claude', fakeStep.error('overloaded'));
 * // ANTHROPIC_BASE_URL=fake.anthropicBaseUrl claude -p "…"  → first request 529, the next 'pong'
 * await fake.close();
 */
export async function startProviderApiFake(options: ProviderApiFakeOptions = {}): Promise<ProviderApiFake> {
  const requests: FakeRequestRecord[] = [];
  const queues: Record<ProviderId, FakeStep[]> = { claude: [], openai: [] };
  const modelsQueues: Record<ProviderId, FakeStep[]> = { claude: [], openai: [] };
  const scripts: Partial<Record<ProviderId, FakeScript>> = { ...options.script };
  const requireOAuthBeta = options.requireOAuthBeta ?? true;
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  // Every delayed answer listens to it: many at once is normal here, not a leak.
  setMaxListeners(0, closing.signal);
  const inFlight: Record<ProviderId, number> = { claude: 0, openai: 0 };
  let seq = 0;

  function nextStep(provider: ProviderId, request: FakeModelRequest): FakeStep {
    const queued = queues[provider].shift();
    if (queued !== undefined) return queued;
    const script = scripts[provider];
    const scripted = typeof script === 'function' ? script(request) : script;
    return scripted ?? { type: 'reply' };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const rawPath = req.url ?? '/';
    const { route, provider } = routeOf(method, new URL(rawPath, 'http://fake').pathname, req.headers);
    const body = await readJsonBody(req);
    const presented = presentedCredential(req.headers);
    const json = isRecord(body.json) ? body.json : {};
    const record = {
      seq: ++seq,
      receivedAt: Date.now(),
      method,
      path: rawPath,
      route,
      provider,
      auth: { scheme: presented.scheme, hint: presented.hint, credential: presented.credential },
      headers: recordableHeaders(req.headers),
      body: body.json,
      bodyProblem: body.problem,
      // An unreadable body (zstd) still gets a stream when the client asked for one in `accept`.
      stream:
        json.stream === true || (body.json === undefined && String(req.headers.accept).includes('text/event-stream')),
      model: typeof json.model === 'string' ? json.model : undefined,
      answer: undefined as FakeRequestRecord['answer'],
    };
    requests.push(record);
    options.onRequest?.(record);

    const answerError = (answer: ProviderErrorAnswer, step: NonNullable<FakeRequestRecord['answer']>['step']): void => {
      record.answer = { status: answer.status, step };
      sendJson(res, answer.status, answer.body, answer.headers);
    };

    if (route === 'probe') {
      record.answer = { status: 200, step: 'route' };
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    if (route === 'unknown') {
      options.log?.(`provider API fake: no route for ${method} ${rawPath} (looks like ${provider}); answered 404`);
      return answerError(unknownRouteAnswer(provider, method, rawPath), 'route');
    }
    const refusal = authRefusal(
      provider,
      presented,
      asKeyList(options.keys?.[provider]),
      req.headers,
      requireOAuthBeta,
    );
    if (refusal !== undefined) return answerError(refusal, 'auth');
    if (body.problem !== undefined && !body.problem.startsWith('unsupported-encoding')) {
      const status = body.problem === 'too-large' ? 413 : 400;
      return answerError(
        providerErrorAnswer(provider, 'invalidRequest', { status, message: `request body: ${body.problem}` }),
        'route',
      );
    }
    if (route === 'anthropic.models' || route === 'openai.models') {
      const step = modelsQueues[provider].shift();
      if ((step?.delayMs ?? 0) > 0) {
        try {
          await sleep(step?.delayMs, undefined, { signal: closing.signal });
        } catch {
          return; // the fake is closing
        }
      }
      if (step?.type === 'error')
        return answerError(
          providerErrorAnswer(provider, step.fault, { ...step, authScheme: presented.scheme, login: presented.login }),
          'error',
        );
      if (step?.type === 'cut') {
        record.answer = { status: 0, step: 'cut' };
        req.socket.destroy();
        return;
      }
      record.answer = { status: 200, step: step?.type ?? 'route' };
      const extra = step?.type === 'reply' ? step.headers : undefined;
      return sendJson(res, 200, modelsList(provider), {
        ...(provider === 'claude' ? { 'request-id': requestId() } : { 'x-request-id': requestId() }),
        ...extra,
      });
    }
    if (route === 'anthropic.countTokens') {
      record.answer = { status: 200, step: 'route' };
      // A rough count (4 bytes a token) is enough: clients use it for display and compaction only.
      return sendJson(
        res,
        200,
        { input_tokens: Math.max(1, Math.ceil(body.bytes / 4)) },
        { 'request-id': requestId() },
      );
    }

    inFlight[provider] += 1;
    res.once('close', () => {
      inFlight[provider] -= 1;
    });
    const view = viewRequest(route, body.json);
    const step = nextStep(provider, {
      provider,
      seq: record.seq,
      model: record.model,
      stream: record.stream,
      authScheme: presented.scheme,
      inFlight: inFlight[provider],
      body: body.json,
      ...view,
    });
    if ((step.delayMs ?? 0) > 0) {
      try {
        await sleep(step.delayMs, undefined, { signal: closing.signal });
      } catch {
        return; // the fake is closing; its sockets are being destroyed
      }
    }
    const model = record.model ?? DEFAULT_MODELS[provider];
    const setAnswer = (status: number): void => {
      record.answer = { status, step: step.type };
    };
    switch (step.type) {
      case 'cut':
        setAnswer(0);
        req.socket.destroy();
        return;
      case 'error':
        return answerError(
          providerErrorAnswer(provider, step.fault, { ...step, authScheme: presented.scheme, login: presented.login }),
          'error',
        );
      case 'streamError': {
        const answer = providerErrorAnswer(provider, step.fault, {
          message: step.message,
          authScheme: presented.scheme,
          login: presented.login,
        });
        if (!record.stream) return answerError(answer, 'streamError');
        setAnswer(200);
        startSse(res, successHeaders(provider));
        writeSse(
          res,
          provider === 'claude'
            ? anthropicStreamError({ model, text: '', usage: DEFAULT_FAKE_USAGE }, answer.errorCode, answer.message)
            : openAiResponseFailed(model, answer.errorCode, answer.message),
        );
        res.end();
        return;
      }
      case 'reply':
      case 'toolCall':
      case 'truncate': {
        let toolCall: ResolvedToolCall | undefined;
        if (step.type === 'toolCall') {
          try {
            toolCall = resolveToolCall(route, body.json, step.action, view.workingDirectory);
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            options.log?.(`provider API fake: ${message}; answered 500`);
            return answerError(providerErrorAnswer(provider, 'serverError', { message }), 'toolCall');
          }
        }
        const replyText = step.text ?? (step.type === 'toolCall' ? '' : DEFAULT_FAKE_TEXT);
        const reply: ReplyContent = {
          model,
          text: replyText,
          usage: step.usage ?? DEFAULT_FAKE_USAGE,
          ...(toolCall === undefined ? {} : { toolCall }),
        };
        setAnswer(200);
        const headers = { ...successHeaders(provider), ...(step.type === 'truncate' ? {} : step.headers) };
        const truncated = step.type === 'truncate' ? (step.ending ?? 'end') : undefined;
        if (record.stream) {
          const plan = streamPlan(route, reply, json);
          startSse(res, headers);
          writeSse(res, truncated === undefined ? plan.events : plan.events.slice(0, plan.truncatedLength));
          return finish(res, truncated);
        }
        const answer = jsonAnswer(route, reply);
        if (truncated === undefined) return sendJson(res, 200, answer, headers);
        const text = JSON.stringify(answer);
        // No content-length: the body ends (or breaks) half way, as a cut upstream would leave it.
        res.writeHead(200, { 'content-type': 'application/json', ...headers });
        res.write(text.slice(0, Math.floor(text.length / 2)));
        return finish(res, truncated);
      }
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      options.log?.(`provider API fake: handler failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendJson(res, 500, { error: { message: 'fake failed', type: 'server_error' } });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    anthropicBaseUrl: url,
    openaiBaseUrl: `${url}/v1`,
    requests,
    unknownRequests: () => requests.filter((request) => request.route === 'unknown'),
    enqueue(provider, ...steps) {
      queues[provider].push(...steps);
    },
    enqueueModels(provider, ...steps) {
      modelsQueues[provider].push(...steps);
    },
    setScript(provider, script) {
      scripts[provider] = script;
    },
    clearRequests() {
      requests.length = 0;
    },
    inFlight: (provider) => inFlight[provider],
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
