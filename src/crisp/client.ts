// The Crisp REST port: the calls the bot makes, over fetch with our own timeouts and errors.
import * as v from 'valibot';
import { err, ok, type Result } from '../errors.ts';
import { VERSION } from '../version.ts';
import type { CrispTier as CrispTierSchema } from './model.ts';

export type CrispTier = v.InferOutput<typeof CrispTierSchema>;

/** What every call needs: whose workspace, and the token that may act on it. */
export type CrispCredentials = {
  /** Whose calls these are: Crisp calls are counted per chatbot and UTC day. */
  chatbotId: string;
  websiteId: string;
  identifier: string;
  key: string;
  tier: CrispTier;
};

/** The message body we post (docs/notes/contract.md, the reply posted to Crisp). */
export type CrispOutgoingMessage = {
  type: 'text' | 'note';
  from: 'operator';
  origin: 'chat';
  content: string;
  /** Always true: Crisp and the team see the message was not written by a person. */
  automated: true;
  user?: { nickname: string; avatar?: string };
};

/** The Crisp routes we call (labels of the call counters). */
export type CrispRoute = 'check' | 'message' | 'compose' | 'state' | 'messages' | 'availability';

/** One Crisp call made, for the counters: `status` null when no answer came. */
export type CrispCall = {
  creds: CrispCredentials;
  route: CrispRoute;
  status: number | null;
  /** Crisp refused for quota or rate (429, 420, 423 or `quota_limit_exceeded`). */
  refused: boolean;
};

/** A page of a conversation's messages around a time (milliseconds), oldest first. */
export type MessagePage = { timestampBefore?: number; timestampAfter?: number };

/** A message read back from Crisp (used to reconcile a post whose outcome we did not see). */
export const CrispMessage = v.looseObject({
  fingerprint: v.optional(v.union([v.number(), v.string()])),
  type: v.optional(v.string()),
  from: v.optional(v.string()),
  content: v.optional(v.unknown()),
  timestamp: v.optional(v.number()),
});
export type CrispMessage = v.InferOutput<typeof CrispMessage>;

export type CrispFailureKind =
  /** 429, 420, 423 or reason `quota_limit_exceeded`: over Crisp's rate limit or daily quota. */
  | 'rate_limited'
  /** 5xx. */
  | 'unavailable'
  /** 401 or 403: the token is wrong, revoked, lacks a scope, or the tier header is wrong. */
  | 'rejected'
  /** 404: the website or conversation is unknown to this token. */
  | 'not_found'
  /** Another 4xx: our request was wrong. */
  | 'bad_request'
  /** No answer: connection refused, reset, DNS, or our timeout. */
  | 'network'
  /** 2xx with a body we cannot read. */
  | 'invalid_response';

/** A failed Crisp call, classified so the worker knows whether to retry, fail, or reconcile. */
export class CrispError extends Error {
  override name = 'CrispError';
  constructor(
    readonly kind: CrispFailureKind,
    /** Crisp's `reason` (e.g. `invalid_session`) or a short description of what failed. */
    readonly reason: string,
    readonly status: number | null,
    readonly retryAfterMs: number | null = null,
    /** The error came as Crisp's JSON envelope (`{"error": true, "reason"}`), not a bare status. */
    readonly fromCrisp = false,
  ) {
    super(`Crisp ${status ?? 'request'} ${kind}: ${reason}`);
  }

  /** Worth trying again later (rate limits, Crisp down, network). */
  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'unavailable' || this.kind === 'network';
  }

  /** The connection itself is broken: 401/403/404 mark it unhealthy (docs/notes/crisp.md). */
  get unhealthy(): boolean {
    return this.kind === 'rejected' || this.kind === 'not_found';
  }

  /** A write may have been applied although we saw no success (5xx, timeout, cut connection). */
  get uncertain(): boolean {
    return (
      this.kind === 'unavailable' || this.kind === 'network' || this.kind === 'invalid_response'
    );
  }
}

export interface CrispClient {
  /** A cheap read the bot's scopes allow: the first page of the website's conversations. */
  checkCredentials(creds: CrispCredentials): Promise<Result<void, CrispError>>;
  sendMessage(
    creds: CrispCredentials,
    sessionId: string,
    message: CrispOutgoingMessage,
  ): Promise<Result<{ fingerprint: string | null }, CrispError>>;
  compose(
    creds: CrispCredentials,
    sessionId: string,
    type: 'start' | 'stop',
  ): Promise<Result<void, CrispError>>;
  /** Operators of the website seen online by Crisp now (`GET …/availability/operators`). */
  operatorsOnline(creds: CrispCredentials): Promise<Result<number, CrispError>>;
  setState(
    creds: CrispCredentials,
    sessionId: string,
    state: 'pending' | 'unresolved' | 'resolved',
  ): Promise<Result<void, CrispError>>;
  /**
   * One page of a conversation's messages, oldest first: the latest page without `page`, else
   * those before or after a time (docs/notes/crisp.md, F15, F16).
   */
  listMessages(
    creds: CrispCredentials,
    sessionId: string,
    page?: MessagePage,
  ): Promise<Result<CrispMessage[], CrispError>>;
}

const Envelope = v.looseObject({
  error: v.optional(v.boolean()),
  reason: v.optional(v.string()),
  data: v.optional(v.unknown()),
});

const Dispatched = v.looseObject({ fingerprint: v.union([v.number(), v.string()]) });

const OperatorAvailabilities = v.array(v.looseObject({ type: v.optional(v.nullable(v.string())) }));

/** Crisp's answer when a plugin's daily quota is used up (docs/notes/crisp.md, F11). */
const QUOTA_REASON = 'quota_limit_exceeded';

/** `Retry-After` in seconds or as an HTTP date → milliseconds (capped by the worker's backoff). */
function retryAfter(header: string | null): number | null {
  if (!header) return null;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Math.round(Number(header) * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function classify(status: number, reason: string | undefined): CrispFailureKind {
  if (status === 429 || status === 420 || status === 423 || reason === QUOTA_REASON) {
    return 'rate_limited';
  }
  if (status >= 500) return 'unavailable';
  if (status === 401 || status === 403) return 'rejected';
  if (status === 404) return 'not_found';
  return 'bad_request';
}

const USER_AGENT = `answerdesk/${VERSION}`;

/** The real client: `fetch` to CRISP_API_URL with Basic auth, the tier header and our User-Agent. */
export class HttpCrispClient implements CrispClient {
  constructor(
    private readonly options: {
      baseUrl: string;
      timeoutMs: number;
      /** Told of every call made (the per-day counters); must not throw. */
      onCall?: (call: CrispCall) => void;
    },
  ) {}

  private url(creds: CrispCredentials, path: string): string {
    return `${this.options.baseUrl}/v1/website/${encodeURIComponent(creds.websiteId)}${path}`;
  }

  private async call(
    creds: CrispCredentials,
    route: CrispRoute,
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: unknown,
  ): Promise<Result<unknown, CrispError>> {
    const res = await this.request(creds, method, path, body);
    this.options.onCall?.({
      creds,
      route,
      status: res.ok ? 200 : res.error.status,
      refused: !res.ok && res.error.kind === 'rate_limited',
    });
    return res;
  }

  /** PATCH `/conversation/:sessionId/<route>`: sets one property; Crisp sends no data back. */
  private async patchConversation(
    creds: CrispCredentials,
    sessionId: string,
    route: 'compose' | 'state',
    body: Record<string, unknown>,
  ): Promise<Result<void, CrispError>> {
    const path = `/conversation/${encodeURIComponent(sessionId)}/${route}`;
    const res = await this.call(creds, route, 'PATCH', path, body);
    return res.ok ? ok(undefined) : res;
  }

  private async request(
    creds: CrispCredentials,
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    body?: unknown,
  ): Promise<Result<unknown, CrispError>> {
    const headers: Record<string, string> = {
      authorization: `Basic ${Buffer.from(`${creds.identifier}:${creds.key}`).toString('base64')}`,
      'x-crisp-tier': creds.tier,
      accept: 'application/json',
      'user-agent': USER_AGENT,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.url(creds, path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (e) {
      const timedOut = e instanceof Error && e.name === 'TimeoutError';
      return err(new CrispError('network', timedOut ? 'timeout' : 'connection failed', null));
    }
    let parsed: v.InferOutput<typeof Envelope> | undefined;
    const text = await res.text().catch(() => '');
    try {
      const result = v.safeParse(Envelope, JSON.parse(text));
      if (result.success) parsed = result.output;
    } catch {}
    if (!res.ok) {
      const reason = parsed?.reason ?? (res.status === 420 ? 'enhance_your_calm' : 'http_error');
      return err(
        new CrispError(
          classify(res.status, parsed?.reason),
          reason.slice(0, 200),
          res.status,
          retryAfter(res.headers.get('retry-after')),
          parsed?.reason !== undefined,
        ),
      );
    }
    // A 2xx is a success whatever its body (204, or not Crisp's envelope): it carries no data then,
    // and callers that need data (a message list) check for it.
    if (!parsed) return ok(undefined);
    if (parsed.error === true) {
      const reason = parsed.reason ?? 'error';
      return err(
        new CrispError(
          reason === QUOTA_REASON ? 'rate_limited' : 'bad_request',
          reason.slice(0, 200),
          res.status,
        ),
      );
    }
    return ok(parsed.data);
  }

  /**
   * Reads the website's first page of conversations (the `sessions` read scope the bot needs
   * anyway), then the website itself. Crisp answers every refusal with its JSON envelope
   * (`invalid_session`, `website_not_found`, …), which rejects the credentials. A bare 404 from a
   * server that does not know the route says nothing about them: the next read is tried, and
   * when no read route exists at all (a minimal Crisp-compatible server) nothing refused them.
   */
  async checkCredentials(creds: CrispCredentials): Promise<Result<void, CrispError>> {
    for (const path of ['/conversations/1', '']) {
      const res = await this.call(creds, 'check', 'GET', path);
      if (res.ok) return ok(undefined);
      if (res.error.kind === 'not_found' && !res.error.fromCrisp) continue;
      return res;
    }
    return ok(undefined);
  }

  async sendMessage(
    creds: CrispCredentials,
    sessionId: string,
    message: CrispOutgoingMessage,
  ): Promise<Result<{ fingerprint: string | null }, CrispError>> {
    const res = await this.call(
      creds,
      'message',
      'POST',
      `/conversation/${encodeURIComponent(sessionId)}/message`,
      message,
    );
    if (!res.ok) return res;
    const data = v.safeParse(Dispatched, res.value);
    // A 2xx means Crisp took the message. Without a fingerprint its echo is recognised by content
    // (the outbox row), `automated` or the nickname instead.
    return ok({ fingerprint: data.success ? String(data.output.fingerprint) : null });
  }

  async compose(
    creds: CrispCredentials,
    sessionId: string,
    type: 'start' | 'stop',
  ): Promise<Result<void, CrispError>> {
    return this.patchConversation(creds, sessionId, 'compose', {
      type,
      from: 'operator',
      automated: true,
    });
  }

  async operatorsOnline(creds: CrispCredentials): Promise<Result<number, CrispError>> {
    const res = await this.call(creds, 'availability', 'GET', '/availability/operators');
    if (!res.ok) return res;
    const list = v.safeParse(OperatorAvailabilities, res.value);
    if (!list.success) {
      return err(new CrispError('invalid_response', 'not an availability list', 200));
    }
    return ok(list.output.filter((operator) => operator.type === 'online').length);
  }

  async setState(
    creds: CrispCredentials,
    sessionId: string,
    state: 'pending' | 'unresolved' | 'resolved',
  ): Promise<Result<void, CrispError>> {
    return this.patchConversation(creds, sessionId, 'state', { state });
  }

  async listMessages(
    creds: CrispCredentials,
    sessionId: string,
    page: MessagePage = {},
  ): Promise<Result<CrispMessage[], CrispError>> {
    const query = new URLSearchParams();
    if (page.timestampBefore !== undefined) {
      query.set('timestamp_before', String(Math.round(page.timestampBefore)));
    }
    if (page.timestampAfter !== undefined) {
      query.set('timestamp_after', String(Math.round(page.timestampAfter)));
    }
    const search = query.size > 0 ? `?${query}` : '';
    const res = await this.call(
      creds,
      'messages',
      'GET',
      `/conversation/${encodeURIComponent(sessionId)}/messages${search}`,
    );
    if (!res.ok) return res;
    const list = v.safeParse(v.array(CrispMessage), res.value);
    if (!list.success) return err(new CrispError('invalid_response', 'not a message list', 200));
    return ok(list.output);
  }
}
