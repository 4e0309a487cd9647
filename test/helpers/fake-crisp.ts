// A fake Crisp on 127.0.0.1 that behaves like the real one where answerdesk can tell
// (docs/notes/crisp.md, "The fake Crisp", names the source of each behaviour): the REST calls
// answerdesk makes, plus what Crisp does around them: it delivers webhooks to hooks attached to
// it (the echo of our posts as `message:received` and of our compose as
// `message:compose:receive`, which can arrive BEFORE the POST's own answer), assigns new
// conversations to an operator on its own (automatic Operator Routing), emits `type: "event"`
// system messages, refuses calls once a daily quota is used up (429/420/423 + reason), serves
// GETs from a cache (`Bloom-Status`, 401/404/423 cached too), and pages message lists 40 at a time,
// oldest first, with `timestamp_before` / `timestamp_after`. Plus webhook delivery builders.
import { createHmac } from 'node:crypto';

export type FakeCrispToken = { identifier: string; key: string; tier: 'plugin' | 'website' };

export type FakeCrispCall = {
  method: string;
  path: string;
  query: string;
  /** `message`, `compose`, `state`, `check`, `messages`, `availability`, or `other`. */
  route: string;
  websiteId: string | null;
  sessionId: string | null;
  tier: string | null;
  userAgent: string | null;
  authorized: boolean;
  body: unknown;
  status: number;
  /** `MISS` or `HIT` on GETs (Crisp's cache, Bloom). */
  bloom: string | null;
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
  automated?: boolean;
  timestamp: number;
  /** `api`: posted through the REST API (us); `chatbox`: the visitor; `inbox`: an operator or Crisp. */
  source: 'api' | 'chatbox' | 'inbox';
};

/**
 * A scripted answer: a status (with Crisp's error envelope), optionally after applying the call.
 * `hold` applies the call and then never answers (until the fake closes): the caller dies with
 * its request in flight, as in a crash between Crisp storing a message and us hearing of it.
 * `before` runs (and is awaited) before the call is handled: something that happens while our
 * request is on the wire. A status below 300 answers as usual (applied); with `stale`, a message
 * list read answers as a cache that has not seen the last minute's messages yet.
 */
export type Scripted = {
  status: number;
  reason?: string;
  apply?: boolean;
  retryAfter?: string;
  hold?: boolean;
  before?: () => unknown;
  stale?: boolean;
};

/** The daily quota: after `remaining` more accepted calls, every call is refused this way. */
export type FakeQuota = { remaining: number; status: 429 | 420 | 423; reason?: string };

/** Where the fake delivers webhooks: our server's webhook URL, signed like a Plugin Hook or not. */
export type FakeHook = {
  url: string;
  signingSecret?: string;
  /** When the echo of a post or compose reaches the hook: before the POST's answer (default), after it, or never. */
  echo?: 'before' | 'after' | 'off';
  /** Crisp's compose echo carries `automated` as sent (default true; false: as older event types). */
  echoAutomated?: boolean;
  /** Automatic Operator Routing: a new conversation is assigned to this operator at once. */
  autoAssign?: string;
};

/** The user id Crisp gives what our plugin token posts (docs/notes/crisp.md: UNVERIFIED value). */
export const PLUGIN_USER_ID = 'b2a0c8b4-0000-4000-8000-plugin000001';
export const OPERATOR_ID = '012d1926-8753-4af6-9957-4853bb6fa294';

const PAGE_SIZE = 40;
const STALE_MS = 60_000;
/** The web chatbox hides an operator's typing indicator after 3 minutes without news. */
const TYPING_SHOWN_MS = 3 * 60_000;

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
  ['GET', /^\/v1\/website\/([^/]+)\/availability\/operators$/, 'availability'],
];

/** Statuses Bloom keeps in its cache (its README's "cacheable status" list, those we use). */
const CACHEABLE = new Set([200, 401, 404, 423]);

/** One page of a conversation's messages, oldest first, as Crisp's list route pages them. */
function page(list: FakeCrispMessage[], query: URLSearchParams): FakeCrispMessage[] {
  const sorted = [...list].sort((a, b) => a.timestamp - b.timestamp);
  const before = query.get('timestamp_before');
  const after = query.get('timestamp_after');
  if (after !== null) return sorted.filter((m) => m.timestamp > Number(after)).slice(0, PAGE_SIZE);
  const older = before === null ? sorted : sorted.filter((m) => m.timestamp < Number(before));
  return older.slice(-PAGE_SIZE);
}

/**
 * Starts the fake. Basic auth and `X-Crisp-Tier` must match one of `tokens` (else 401
 * `invalid_session`); websites outside `websites` get 404. `script(route, ...)` queues answers.
 */
export function startFakeCrisp(options: {
  tokens: FakeCrispToken[];
  websites: string[];
  /** Called when a message is stored (bench: reply-posted time). */
  onMessage?: (message: FakeCrispMessage) => void;
  /** How long a GET answer is served from Crisp's cache (Bloom's default: 600 s); 0 = no cache. */
  cacheTtlMs?: number;
}) {
  const calls: FakeCrispCall[] = [];
  const messages: FakeCrispMessage[] = [];
  const scripts = new Map<string, Scripted[]>();
  const cache = new Map<string, { at: number; status: number; body: unknown }>();
  const cacheTtlMs = options.cacheTtlMs ?? 600_000;
  const hooks: FakeHook[] = [];
  const sessionHooks = new Map<string, FakeHook>();
  const typingSince = new Map<string, number>();
  const deliveries: { event: string; session: string | null; status: number; action: unknown }[] =
    [];
  const inFlight = new Set<Promise<unknown>>();
  let quota: FakeQuota | null = null;
  let operators: { user_id: string; type: string }[] = [];
  const { promise: closing, resolve: release } = Promise.withResolvers<void>();
  let nextFingerprint = 170_000_000_000_000;
  let lastTimestamp = 0;

  /** Delivers one event to a hook as Crisp does (compact JSON, hook headers, signature). */
  const deliver = async (hook: FakeHook, event: WebhookEvent) => {
    const res = await fetch(hook.url, delivery(event, { signingSecret: hook.signingSecret }));
    const body = (await res.json().catch(() => null)) as { action?: unknown } | null;
    const session = (event.data as { session_id?: string }).session_id ?? null;
    deliveries.push({ event: event.event, session, status: res.status, action: body?.action });
    return { status: res.status, action: body?.action };
  };

  /** Runs an echo per the hook's timing: awaited now ('before') or after the answer ('after'). */
  const echo = async (sessionId: string, make: (hook: FakeHook) => WebhookEvent | null) => {
    const hook = sessionHooks.get(sessionId);
    if (!hook || hook.echo === 'off') return;
    const event = make(hook);
    if (!event) return;
    if ((hook.echo ?? 'before') === 'before') {
      await deliver(hook, event);
      return;
    }
    const later = new Promise((r) => setTimeout(r, 0)).then(() => deliver(hook, event));
    inFlight.add(later);
    void later.finally(() => inFlight.delete(later));
  };

  const store = (
    message: Omit<FakeCrispMessage, 'fingerprint' | 'timestamp'> & { fingerprint?: number },
  ) => {
    // Milliseconds, one apart at least: pages split on timestamps stay deterministic.
    lastTimestamp = Math.max(Date.now(), lastTimestamp + 1);
    const stored: FakeCrispMessage = {
      ...message,
      fingerprint: message.fingerprint ?? nextFingerprint++,
      timestamp: lastTimestamp,
    };
    messages.push(stored);
    // The web chatbox takes an operator's typing indicator away when a message arrives.
    if (stored.from === 'operator' && stored.type !== 'note') typingSince.delete(stored.session_id);
    return stored;
  };

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
          sessionId = m[2] && name !== 'check' ? decodeURIComponent(m[2]) : null;
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
        query: url.search,
        route,
        websiteId,
        sessionId,
        tier,
        userAgent: request.headers.get('user-agent'),
        authorized,
        body,
        status: 0,
        bloom: null,
        at: performance.now(),
      };
      calls.push(call);
      const cacheKey = `${auth}|${tier}|${request.method}|${url.pathname}${url.search}`;
      const respond = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        call.status = status;
        if (request.method === 'GET') {
          call.bloom = 'MISS';
          if (cacheTtlMs > 0 && CACHEABLE.has(status)) {
            cache.set(cacheKey, { at: Date.now(), status, body: payload });
          }
          return json(status, payload, { ...headers, 'bloom-status': 'MISS' });
        }
        return json(status, payload, headers);
      };
      // A scripted answer is what Crisp answered this call, cache or not.
      if (request.method === 'GET' && cacheTtlMs > 0 && !scripts.get(route)?.length) {
        const hit = cache.get(cacheKey);
        if (hit && Date.now() - hit.at < cacheTtlMs) {
          call.status = hit.status;
          call.bloom = 'HIT';
          return json(hit.status, hit.body, { 'bloom-status': 'HIT' });
        }
      }
      if (route === 'other') {
        return respond(404, { error: true, reason: 'route_not_found', data: {} });
      }
      if (!authorized) return respond(401, { error: true, reason: 'invalid_session', data: {} });
      if (!options.websites.includes(websiteId!)) {
        return respond(404, { error: true, reason: 'website_not_found', data: {} });
      }
      if (quota && quota.remaining <= 0) {
        const reason = quota.reason ?? 'quota_limit_exceeded';
        return respond(quota.status, { error: true, reason, data: {} });
      }
      if (quota) quota.remaining--;
      let scripted = scripts.get(route)?.shift();
      if (scripted?.before) await scripted.before();
      const stale = scripted?.stale === true;
      if (scripted && scripted.status < 300 && !scripted.hold) scripted = undefined;
      const apply = !scripted || scripted.apply === true || scripted.hold === true;
      let data: unknown = {};
      if (apply) {
        if (route === 'message') {
          const b = body as Record<string, unknown>;
          const message = store({
            ...(typeof b.fingerprint === 'number' ? { fingerprint: b.fingerprint } : {}),
            session_id: sessionId!,
            type: String(b.type),
            from: String(b.from),
            origin: String(b.origin),
            content: b.content,
            ...(b.user ? { user: b.user } : {}),
            ...(typeof b.automated === 'boolean' ? { automated: b.automated } : {}),
            source: 'api',
          });
          options.onMessage?.(message);
          data = { fingerprint: message.fingerprint };
          await echo(sessionId!, () => ({
            website_id: websiteId!,
            event: 'message:received',
            data: {
              website_id: websiteId!,
              session_id: sessionId!,
              inbox_id: null,
              type: message.type,
              from: message.from,
              origin: message.origin,
              content: message.content,
              fingerprint: message.fingerprint,
              timestamp: message.timestamp,
              stamped: true,
              user: { ...(message.user as object), user_id: PLUGIN_USER_ID },
              mentions: [],
              ...(message.automated !== undefined ? { automated: message.automated } : {}),
            },
            timestamp: message.timestamp,
          }));
        } else if (route === 'compose') {
          const b = body as { type?: string; automated?: boolean };
          if (b.type === 'start') typingSince.set(sessionId!, Date.now());
          else typingSince.delete(sessionId!);
          await echo(sessionId!, (hook) => ({
            website_id: websiteId!,
            event: 'message:compose:receive',
            data: {
              website_id: websiteId!,
              session_id: sessionId!,
              type: b.type,
              excerpt: '',
              timestamp: Date.now(),
              user: { user_id: PLUGIN_USER_ID },
              ...(hook.echoAutomated !== false && b.automated !== undefined
                ? { automated: b.automated }
                : {}),
            },
            timestamp: Date.now(),
          }));
        } else if (route === 'messages') {
          const seen = messages.filter(
            (m) => m.session_id === sessionId && (!stale || m.timestamp < Date.now() - STALE_MS),
          );
          data = page(seen, url.searchParams).map(({ source: _, ...m }) => m);
        } else if (route === 'check') {
          data = [];
        } else if (route === 'availability') {
          data = operators.map((o) => ({ ...o, time: { for: 0, since: Date.now() } }));
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
        route === 'message' ? 'dispatched' : request.method === 'GET' ? 'resolved' : 'updated';
      return respond(200, { error: false, reason, data });
    },
  });

  /** The hook of a session, bound on first use: its deliveries and its echoes go there. */
  const hookOf = (sessionId: string, hook?: FakeHook) => {
    const bound = hook ?? sessionHooks.get(sessionId) ?? hooks.at(-1);
    if (!bound) throw new Error('fake crisp: attach a hook first');
    if (!sessionHooks.has(sessionId)) sessionHooks.set(sessionId, bound);
    return sessionHooks.get(sessionId)!;
  };

  return {
    url: `http://127.0.0.1:${server.port}`,
    calls,
    messages,
    /** Webhook deliveries the fake made, with our server's status and action. */
    deliveries,
    /** Queues answers for the next calls of `route` (e.g. `script('message', {status: 429})`). */
    script(route: string, ...answers: Scripted[]) {
      scripts.set(route, [...(scripts.get(route) ?? []), ...answers]);
    },
    /** Messages posted through the API in a conversation (what we posted). */
    posted(sessionId: string, type?: string) {
      return messages.filter(
        (m) => m.session_id === sessionId && m.source === 'api' && (!type || m.type === type),
      );
    },
    callsTo(route: string, sessionId?: string) {
      return calls.filter((c) => c.route === route && (!sessionId || c.sessionId === sessionId));
    },
    /** Attaches a hook; sessions written to through the fake without one bind to the latest. */
    attach(hook: FakeHook) {
      hooks.push(hook);
      return hook;
    },
    /**
     * The visitor writes in the chatbox: stored, delivered as `message:send`; a new conversation
     * is then assigned at once when the hook auto-assigns (`session:set_routing`, no person).
     */
    async visitor(sessionId: string, content: string, hook?: FakeHook) {
      const bound = hookOf(sessionId, hook);
      const isNew = !messages.some((m) => m.session_id === sessionId);
      const message = store({
        session_id: sessionId,
        type: 'text',
        from: 'user',
        origin: 'chat',
        content,
        user: { nickname: 'visitor493603', user_id: sessionId },
        source: 'chatbox',
      });
      const sent = await deliver(bound, {
        website_id: WEBSITE_ID,
        event: 'message:send',
        data: {
          website_id: WEBSITE_ID,
          session_id: sessionId,
          type: 'text',
          content,
          from: 'user',
          origin: 'chat',
          stamped: true,
          timestamp: message.timestamp,
          fingerprint: message.fingerprint,
          user: { nickname: 'visitor493603', user_id: sessionId },
        },
        timestamp: message.timestamp,
      });
      if (isNew && bound.autoAssign) {
        await deliver(bound, setRouting(bound.autoAssign, { sessionId }));
      }
      return sent;
    },
    /** Crisp writes a system message (`type: "event"`) into the conversation. */
    async systemMessage(sessionId: string, namespace: string, text?: string) {
      const message = store({
        session_id: sessionId,
        type: 'event',
        from: 'operator',
        origin: 'chat',
        content: { namespace, ...(text ? { text } : {}) },
        source: 'inbox',
      });
      return deliver(hookOf(sessionId), {
        website_id: WEBSITE_ID,
        event: 'message:received',
        data: {
          website_id: WEBSITE_ID,
          session_id: sessionId,
          type: 'event',
          from: 'operator',
          origin: 'chat',
          content: message.content,
          fingerprint: message.fingerprint,
          timestamp: message.timestamp,
          stamped: true,
          user: { nickname: 'Crisp', user_id: 'crisp' },
        },
        timestamp: message.timestamp,
      });
    },
    /** Messages written in the conversation that no hook hears of (another channel, older ones). */
    inject(sessionId: string, count: number, from: 'user' | 'operator' = 'user') {
      for (let i = 0; i < count; i++) {
        store({
          session_id: sessionId,
          type: 'text',
          from,
          origin: 'chat',
          content: `message ${i + 1}`,
          source: from === 'user' ? 'chatbox' : 'inbox',
        });
      }
    },
    /** Every echo sent 'after' its POST's answer has reached our server. */
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    /** From now on, `remaining` more calls are accepted, then Crisp refuses (null: no quota). */
    quota(next: FakeQuota | null) {
      quota = next;
    },
    /** Operators' availability as Crisp reports it (`type`: online, away, offline). */
    setOperators(list: { user_id: string; type: string }[]) {
      operators = list;
    },
    /** Forgets Crisp's cached GET answers (as their TTL running out would). */
    purgeCache() {
      cache.clear();
    },
    /** Whether the visitor's chatbox shows the bot "typing…" now. */
    typingShown(sessionId: string) {
      const since = typingSince.get(sessionId);
      return since !== undefined && Date.now() - since < TYPING_SHOWN_MS;
    },
    close: () => {
      release();
      return server.stop(true);
    },
  };
}

export type FakeCrisp = ReturnType<typeof startFakeCrisp>;

/** A webhook delivery's body: `{website_id, event, data, timestamp}`. */
export type WebhookEvent = { website_id: string; event: string; data: unknown; timestamp: number };

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
    userId?: string;
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
        user_id: options.userId ?? OPERATOR_ID,
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

/** `message:compose:receive`: a human operator typing (or stopping, with `type: 'stop'`). */
export function operatorTyping(
  options: {
    sessionId?: string;
    websiteId?: string;
    type?: 'start' | 'stop';
    user?: { nickname?: string; user_id?: string };
    automated?: boolean;
  } = {},
) {
  const websiteId = options.websiteId ?? WEBSITE_ID;
  const timestamp = Date.now();
  return {
    website_id: websiteId,
    event: 'message:compose:receive',
    data: {
      website_id: websiteId,
      session_id: options.sessionId ?? SESSION_ID,
      type: options.type ?? 'start',
      excerpt: 'Hi, let me',
      timestamp,
      user: options.user ?? { nickname: 'John Doe', user_id: OPERATOR_ID },
      ...(options.automated !== undefined ? { automated: options.automated } : {}),
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
