// A fake Crisp REST API on 127.0.0.1 (the calls answerdesk makes), plus webhook delivery builders.
import { createHmac } from 'node:crypto';

export type FakeCrispToken = { identifier: string; key: string; tier: 'plugin' | 'website' };

export type FakeCrispCall = {
  method: string;
  path: string;
  /** `message`, `compose`, `state`, `check`, `messages`, or `other`. */
  route: string;
  websiteId: string | null;
  sessionId: string | null;
  tier: string | null;
  authorized: boolean;
  body: unknown;
  status: number;
  at: number;
};

export type FakeCrispMessage = {
  fingerprint: number;
  session_id: string;
  type: string;
  from: string;
  origin: string;
  content: unknown;
  user?: unknown;
  timestamp: number;
};

/**
 * A scripted answer: a status (with Crisp's error envelope), optionally after applying the call.
 * `hold` applies the call and then never answers (until the fake closes): the caller dies with
 * its request in flight, as in a crash between Crisp storing a message and us hearing of it.
 * `before` runs (and is awaited) before the call is handled: something that happens while our
 * request is on the wire. A status below 300 answers as usual (applied).
 */
export type Scripted = {
  status: number;
  reason?: string;
  apply?: boolean;
  retryAfter?: string;
  hold?: boolean;
  before?: () => unknown;
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

const ROUTES: [string, RegExp, string][] = [
  ['GET', /^\/v1\/website\/([^/]+)\/conversations\/(\d+)$/, 'check'],
  ['POST', /^\/v1\/website\/([^/]+)\/conversation\/([^/]+)\/message$/, 'message'],
  ['GET', /^\/v1\/website\/([^/]+)\/conversation\/([^/]+)\/messages$/, 'messages'],
  ['PATCH', /^\/v1\/website\/([^/]+)\/conversation\/([^/]+)\/compose$/, 'compose'],
  ['PATCH', /^\/v1\/website\/([^/]+)\/conversation\/([^/]+)\/state$/, 'state'],
];

/**
 * Starts the fake. Basic auth and `X-Crisp-Tier` must match one of `tokens` (else 401
 * `invalid_session`); websites outside `websites` get 404. `script(route, ...)` queues answers.
 */
export function startFakeCrisp(options: {
  tokens: FakeCrispToken[];
  websites: string[];
  /** Called when a message is stored (bench: reply-posted time). */
  onMessage?: (message: FakeCrispMessage) => void;
}) {
  const calls: FakeCrispCall[] = [];
  const messages: FakeCrispMessage[] = [];
  const scripts = new Map<string, Scripted[]>();
  const { promise: closing, resolve: release } = Promise.withResolvers<void>();
  let nextFingerprint = 170_000_000_000_000;

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      let route = 'other';
      let websiteId: string | null = null;
      let sessionId: string | null = null;
      for (const [method, pattern, name] of ROUTES) {
        const m = request.method === method ? pattern.exec(url.pathname) : null;
        if (m) {
          route = name;
          websiteId = decodeURIComponent(m[1]!);
          sessionId = name === 'check' ? null : decodeURIComponent(m[2]!);
          break;
        }
      }
      const text = await request.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      const tier = request.headers.get('x-crisp-tier');
      const auth = request.headers.get('authorization') ?? '';
      const authorized = options.tokens.some(
        (t) =>
          auth === `Basic ${Buffer.from(`${t.identifier}:${t.key}`).toString('base64')}` &&
          tier === t.tier,
      );
      const call: FakeCrispCall = {
        method: request.method,
        path: url.pathname,
        route,
        websiteId,
        sessionId,
        tier,
        authorized,
        body,
        status: 0,
        at: performance.now(),
      };
      calls.push(call);
      const respond = (status: number, payload: unknown, headers?: Record<string, string>) => {
        call.status = status;
        return json(status, payload, headers);
      };
      if (route === 'other') {
        return respond(404, { error: true, reason: 'route_not_found', data: {} });
      }
      if (!authorized) return respond(401, { error: true, reason: 'invalid_session', data: {} });
      if (!options.websites.includes(websiteId!)) {
        return respond(404, { error: true, reason: 'website_not_found', data: {} });
      }
      let scripted = scripts.get(route)?.shift();
      if (scripted?.before) await scripted.before();
      if (scripted && scripted.status < 300 && !scripted.hold) scripted = undefined;
      const apply = !scripted || scripted.apply === true || scripted.hold === true;
      let data: unknown = {};
      if (apply) {
        if (route === 'message') {
          const b = body as Record<string, unknown>;
          const message: FakeCrispMessage = {
            fingerprint: nextFingerprint++,
            session_id: sessionId!,
            type: String(b.type),
            from: String(b.from),
            origin: String(b.origin),
            content: b.content,
            ...(b.user ? { user: b.user } : {}),
            timestamp: Date.now(),
          };
          messages.push(message);
          options.onMessage?.(message);
          data = { fingerprint: message.fingerprint };
        } else if (route === 'messages') {
          data = messages.filter((m) => m.session_id === sessionId);
        } else if (route === 'check') {
          data = [];
        }
      }
      if (scripted?.hold) {
        await closing;
        return respond(503, { error: true, reason: 'held', data: {} });
      }
      if (scripted) {
        return respond(
          scripted.status,
          { error: true, reason: scripted.reason ?? 'scripted', data: {} },
          scripted.retryAfter ? { 'retry-after': scripted.retryAfter } : undefined,
        );
      }
      const reason =
        route === 'message'
          ? 'dispatched'
          : route === 'check' || route === 'messages'
            ? 'resolved'
            : 'updated';
      return respond(200, { error: false, reason, data });
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    calls,
    messages,
    /** Queues answers for the next calls of `route` (e.g. `script('message', {status: 429})`). */
    script(route: string, ...answers: Scripted[]) {
      scripts.set(route, [...(scripts.get(route) ?? []), ...answers]);
    },
    /** Messages stored in a conversation (what the visitor or the agents would see). */
    posted(sessionId: string, type?: string) {
      return messages.filter((m) => m.session_id === sessionId && (!type || m.type === type));
    },
    callsTo(route: string, sessionId?: string) {
      return calls.filter((c) => c.route === route && (!sessionId || c.sessionId === sessionId));
    },
    close: () => {
      release();
      return server.stop(true);
    },
  };
}

export type FakeCrisp = ReturnType<typeof startFakeCrisp>;

// ---------------------------------------------------------------------------------------------
// Webhook deliveries, shaped after Crisp's quickstart examples (docs/notes/contract.md).

export const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
export const SESSION_ID = 'session_36ba3566-9651-4790-afc8-ffedbccc317f';

let fingerprintSeq = 150_698_569_649_423;
export const nextFingerprint = () => fingerprintSeq++;

/** `message:send` from the visitor (the quickstart example). */
export function visitorMessage(
  content: string,
  options: {
    sessionId?: string;
    websiteId?: string;
    fingerprint?: number;
    origin?: string;
    type?: string;
  } = {},
) {
  const websiteId = options.websiteId ?? WEBSITE_ID;
  const sessionId = options.sessionId ?? SESSION_ID;
  const timestamp = Date.now();
  return {
    website_id: websiteId,
    event: 'message:send',
    data: {
      website_id: websiteId,
      session_id: sessionId,
      type: options.type ?? 'text',
      content,
      from: 'user',
      origin: options.origin ?? 'chat',
      stamped: true,
      timestamp,
      fingerprint: options.fingerprint ?? nextFingerprint(),
      user: { nickname: 'visitor493603', user_id: sessionId },
    },
    timestamp,
  };
}

/** `message:received` from an operator (the reproduced example). */
export function operatorMessage(
  content: string,
  options: {
    sessionId?: string;
    websiteId?: string;
    fingerprint?: number;
    nickname?: string;
    automated?: boolean;
    type?: string;
  } = {},
) {
  const websiteId = options.websiteId ?? WEBSITE_ID;
  const timestamp = Date.now();
  return {
    website_id: websiteId,
    event: 'message:received',
    data: {
      website_id: websiteId,
      type: options.type ?? 'text',
      from: 'operator',
      origin: 'chat',
      content,
      fingerprint: options.fingerprint ?? nextFingerprint(),
      user: {
        nickname: options.nickname ?? 'John Doe',
        user_id: '012d1926-8753-4af6-9957-4853bb6fa294',
      },
      mentions: [],
      timestamp,
      stamped: true,
      session_id: options.sessionId ?? SESSION_ID,
      ...(options.automated !== undefined ? { automated: options.automated } : {}),
    },
    timestamp,
  };
}

/** `message:compose:receive`: a human operator typing. */
export function operatorTyping(options: { sessionId?: string; websiteId?: string } = {}) {
  const websiteId = options.websiteId ?? WEBSITE_ID;
  const timestamp = Date.now();
  return {
    website_id: websiteId,
    event: 'message:compose:receive',
    data: {
      website_id: websiteId,
      session_id: options.sessionId ?? SESSION_ID,
      type: 'start',
      excerpt: 'Hi, let me',
      timestamp,
      user: { nickname: 'John Doe', user_id: '012d1926-8753-4af6-9957-4853bb6fa294' },
    },
    timestamp,
  };
}

/** `session:set_state` (shape built from the official library types). */
export function setState(state: string, options: { sessionId?: string; websiteId?: string } = {}) {
  const websiteId = options.websiteId ?? WEBSITE_ID;
  return {
    website_id: websiteId,
    event: 'session:set_state',
    data: {
      website_id: websiteId,
      session_id: options.sessionId ?? SESSION_ID,
      inbox_id: null,
      state,
    },
    timestamp: Date.now(),
  };
}

/** `session:set_routing` (shape built from the official library types). */
export function setRouting(
  routingId: string | null,
  options: { sessionId?: string; websiteId?: string } = {},
) {
  const websiteId = options.websiteId ?? WEBSITE_ID;
  return {
    website_id: websiteId,
    event: 'session:set_routing',
    data: {
      website_id: websiteId,
      session_id: options.sessionId ?? SESSION_ID,
      inbox_id: null,
      routing_id: routingId,
      previous_routing_id: null,
    },
    timestamp: Date.now(),
  };
}

/**
 * A webhook delivery as Crisp sends it: compact JSON, the hook headers, and (with
 * `signingSecret`) `X-Crisp-Signature` = hex HMAC-SHA256 over "[timestamp;body]".
 */
export function delivery(
  event: unknown,
  options: {
    signingSecret?: string;
    timestamp?: string;
    attempt?: number;
    badSignature?: boolean;
  } = {},
): RequestInit & { headers: Record<string, string>; body: string } {
  const body = JSON.stringify(event);
  const timestamp = options.timestamp ?? String(Date.now());
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-crisp-request-timestamp': timestamp,
    'x-delivery-attempt-count': String(options.attempt ?? 1),
    'x-delivery-attempt-limit': '5',
  };
  if (options.signingSecret) {
    headers['x-crisp-hook-origin'] = 'plugin/rtm 38b411d9377a6a00 production';
    const signature = createHmac('sha256', options.signingSecret)
      .update(`[${timestamp};${body}]`)
      .digest('hex');
    headers['x-crisp-signature'] = options.badSignature
      ? signature.replace(/^./, (c) => (c === '0' ? '1' : '0'))
      : signature;
  } else {
    headers['x-crisp-hook-origin'] = 'website/web-hook';
  }
  return { method: 'POST', headers, body };
}
