/**
 * A loopback OAuth token endpoint for tests. It issues rotating, single-use refresh tokens (a used
 * or unknown refresh token answers 400 `{"error":"invalid_grant"}`), counts requests, and can answer
 * slowly, cut the connection, not rotate, or issue already-expired access tokens.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeOAuthServer {
  readonly url: string;
  /** Every token request that reached the server (including ones answered with an error or cut). */
  readonly requests: { body: Record<string, unknown>; contentType: string | undefined }[];
  /** Every token this server ever issued or accepted as valid (for secret scans). */
  readonly issued: string[];
  /** Answer delay in ms (0: at once). */
  delayMs: number;
  /** Destroy the socket instead of answering. */
  cut: boolean;
  /** Do not return a new refresh token (the old one stays valid). */
  rotate: boolean;
  /** `expires_in` of issued access tokens, in seconds (0: already expired). */
  expiresIn: number;
  /**
   * OpenAI (Codex) style: access tokens are JWTs whose `exp` is the expiry, and answers carry an
   * `id_token` naming this ChatGPT plan. `null`: Anthropic style opaque tokens.
   */
  chatgptPlan: string | null;
  /** Called with the refresh token before the answer is decided: a test can play a rival refresher here. */
  beforeAnswer: ((refreshToken: string) => Promise<void>) | null;
  /** Makes `token` a valid refresh token. */
  allow(token: string): void;
  /** Redeems a refresh token without HTTP (a rival that does not count as a request); `null` if invalid. */
  redeem(refreshToken: string): { access_token: string; refresh_token: string; expires_in: number } | null;
  close(): Promise<void>;
}

export function newToken(kind: 'oat' | 'ort'): string {
  return `sk-ant-${kind}01-TEST${randomBytes(12).toString('hex')}`;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An unsigned JWT with these claims and a random part, the shape of Codex's tokens. */
export function newJwt(claims: Record<string, unknown>): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ ...claims, jti: `TEST${randomBytes(12).toString('hex')}` })}.c2ln`;
}

/** A ChatGPT id_token as Codex stores it: the plan and account under `https://api.openai.com/auth`. */
export function newIdToken(plan: string, accountId = 'acct-test-0001'): string {
  return newJwt({
    email: 'dev@example.com',
    'https://api.openai.com/auth': { chatgpt_plan_type: plan, chatgpt_account_id: accountId },
  });
}

/** A ChatGPT access token (a JWT) that expires `inMs` from now. */
export function newChatgptAccessToken(inMs: number): string {
  return newJwt({ exp: Math.floor((Date.now() + inMs) / 1000) });
}

export async function startFakeOAuthServer(): Promise<FakeOAuthServer> {
  const valid = new Set<string>();
  const sockets = new Set<Socket>();
  const state: FakeOAuthServer = {
    url: '',
    requests: [],
    issued: [],
    delayMs: 0,
    cut: false,
    rotate: true,
    expiresIn: 3600,
    chatgptPlan: null,
    beforeAnswer: null,
    allow(token) {
      valid.add(token);
      state.issued.push(token);
    },
    redeem(refreshToken) {
      if (!valid.has(refreshToken)) return null;
      const access = state.chatgptPlan === null ? newToken('oat') : newChatgptAccessToken(state.expiresIn * 1000);
      state.issued.push(access);
      let refresh = refreshToken;
      if (state.rotate) {
        valid.delete(refreshToken);
        refresh = newToken('ort');
        state.allow(refresh);
      }
      return { access_token: access, refresh_token: refresh, expires_in: state.expiresIn };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          body = {};
        }
        state.requests.push({ body, contentType: req.headers['content-type'] });
        if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
        if (state.cut) {
          req.socket.destroy();
          return;
        }
        const refreshToken = typeof body.refresh_token === 'string' ? body.refresh_token : '';
        if (state.beforeAnswer) await state.beforeAnswer(refreshToken);
        const granted =
          req.method === 'POST' && body.grant_type === 'refresh_token' ? state.redeem(refreshToken) : null;
        res.setHeader('content-type', 'application/json');
        if (granted === null) {
          res.statusCode = 400;
          res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'Refresh token not found or invalid' }));
          return;
        }
        const answer: Record<string, unknown> = {
          token_type: 'Bearer',
          access_token: granted.access_token,
          expires_in: granted.expires_in,
          scope: 'user:inference user:profile',
        };
        if (state.rotate) answer.refresh_token = granted.refresh_token;
        if (state.chatgptPlan !== null) {
          answer.id_token = newIdToken(state.chatgptPlan);
          answer.scope = 'openid profile email';
        }
        res.end(JSON.stringify(answer));
      })();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (state as { url: string }).url = `http://127.0.0.1:${port}/v1/oauth/token`;
  return state;
}
