// The LLM probe: a cheap authenticated GET of the endpoint's model list, at start and every few
// minutes, so /readyz and the dashboard say whether LLM calls can work, and why not
// (docs/notes/dashboard.md). It never changes what the bot does: a failed call still hands off.
import { readStreamLimited } from '../http/body.ts';
import { jsonShapeProblem } from '../http/json-limits.ts';
import { type Logger, redactUrl } from '../logging.ts';

export const LLM_STATUSES = [
  'ok',
  'unreachable',
  'unauthorized',
  'misconfigured',
  'unknown',
] as const;
export type LlmStatus = (typeof LLM_STATUSES)[number];

export type LlmHealth = {
  /** `unknown` only until the first check has finished. */
  status: LlmStatus;
  /** Why, in plain words (never the key); null when ok. */
  reason: string | null;
  /** When the status was found (ISO); null before the first check. */
  checkedAt: string | null;
};

/** A models list answers in well under a second; a slower endpoint is as good as down. */
export const LLM_PROBE_TIMEOUT_MS = 5_000;

/** Groq lists a few dozen models (~10 KB); anything far larger is not its model list. */
const MODEL_LIST_BYTES_MAX = 1_048_576;

/** The route groq-sdk calls for `models.list()`, appended to the base URL as the SDK does. */
export const MODELS_PATH = '/openai/v1/models';

export type ProbeTarget = {
  /** GROQ_BASE_URL: the host only (the SDK appends `/openai/v1/...`). */
  baseUrl: string;
  apiKey: string | undefined;
  /** GROQ_MODEL: it must be among the listed models, or every default call fails. */
  model: string;
  timeoutMs: number;
};

type Verdict = { status: Exclude<LlmStatus, 'unknown'>; reason: string | null };

const hostAdvice =
  'GROQ_BASE_URL must be the host only (e.g. https://api.groq.com): answerdesk adds /openai/v1/…';

/** Names a fetch failure without its message (which may quote the URL) and never the key. */
function connectionFailure(cause: unknown, host: string, timeoutMs: number): Verdict {
  const name = (cause as { name?: unknown })?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { status: 'unreachable', reason: `no answer from ${host} within ${timeoutMs} ms` };
  }
  const code = String((cause as { code?: unknown })?.code ?? name ?? 'unknown error');
  if (/refused/i.test(code)) {
    return { status: 'unreachable', reason: `${host} refused the connection (${code})` };
  }
  if (/ENOTFOUND|DNS|EAI_/i.test(code)) {
    return { status: 'unreachable', reason: `the host name of ${host} does not resolve (${code})` };
  }
  if (/CERT|TLS|SSL/i.test(code)) {
    return { status: 'unreachable', reason: `TLS with ${host} failed (${code})` };
  }
  return { status: 'unreachable', reason: `could not connect to ${host} (${code})` };
}

/** Classifies the models-list answer (status and body). */
async function judgeResponse(response: Response, url: URL, model: string): Promise<Verdict> {
  const shown = redactUrl(url.toString());
  const { status } = response;
  if (status === 401 || status === 403) {
    await response.body?.cancel();
    return { status: 'unauthorized', reason: `the endpoint refused GROQ_API_KEY (${status})` };
  }
  if (status === 429) {
    // Key, address and model are right; calls are throttled for now and retried by the client.
    await response.body?.cancel();
    return { status: 'ok', reason: 'the endpoint is rate-limiting requests (429) at the moment' };
  }
  if (status >= 500) {
    await response.body?.cancel();
    return { status: 'unreachable', reason: `GET ${shown} answered ${status} (a server error)` };
  }
  if (status >= 300 && status < 400) {
    await response.body?.cancel();
    return {
      status: 'misconfigured',
      reason: `GET ${shown} answered a redirect (${status}): set GROQ_BASE_URL to the API host itself`,
    };
  }
  if (status !== 200) {
    await response.body?.cancel();
    const path = url.pathname.slice(0, -MODELS_PATH.length);
    const advice = path ? ` GROQ_BASE_URL has a path (${path}); ${hostAdvice}` : ` ${hostAdvice}`;
    return { status: 'misconfigured', reason: `GET ${shown} answered ${status}.${advice}` };
  }
  const notAList: Verdict = {
    status: 'misconfigured',
    reason: `GET ${shown} answered 200 but not with a model list: is GROQ_BASE_URL the Groq API?`,
  };
  let ids: unknown[];
  try {
    const bytes = response.body
      ? await readStreamLimited(response.body, MODEL_LIST_BYTES_MAX, () => new Error('too large'))
      : new Uint8Array();
    const text = new TextDecoder().decode(bytes);
    if (jsonShapeProblem(text)) return notAList;
    const data = (JSON.parse(text) as { data?: unknown })?.data;
    if (!Array.isArray(data)) return notAList;
    ids = data.map((entry) => (entry as { id?: unknown })?.id);
  } catch {
    return notAList;
  }
  // An empty list proves the key and address; only a list without the model proves it wrong.
  if (ids.length > 0 && !ids.includes(model)) {
    return {
      status: 'misconfigured',
      reason: `GROQ_MODEL ${JSON.stringify(model.slice(0, 200))} is not among the ${ids.length} models the endpoint lists`,
    };
  }
  return { status: 'ok', reason: null };
}

/** One probe: GET {baseUrl}/openai/v1/models with the key, classified. Never throws. */
export async function probeLlm(target: ProbeTarget, signal?: AbortSignal): Promise<Verdict> {
  if (!target.apiKey) return { status: 'misconfigured', reason: 'GROQ_API_KEY is not set' };
  let url: URL;
  try {
    // String concatenation, as groq-sdk's buildURL does (node_modules/groq-sdk/src/client.ts).
    url = new URL(`${target.baseUrl}${MODELS_PATH}`);
  } catch {
    return { status: 'misconfigured', reason: 'GROQ_BASE_URL is not a valid URL' };
  }
  const timeout = AbortSignal.timeout(target.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${target.apiKey}`, accept: 'application/json' },
      // A redirect is reported, not followed: the key must not travel to another host.
      redirect: 'manual',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (cause) {
    return connectionFailure(cause, url.host, target.timeoutMs);
  }
  try {
    return await judgeResponse(response, url, target.model);
  } catch (cause) {
    return connectionFailure(cause, url.host, target.timeoutMs);
  }
}

type LlmProbeOptions = {
  target: ProbeTarget;
  /** Between the end of one check and the start of the next; 0 = at start only. */
  intervalMs: number;
  now: () => number;
  log: Logger;
};

/**
 * The latest LLM health of the process: `start()` checks at once and then every `intervalMs`
 * (serve() calls it; commands and tests do not, so they never reach out); `check()` runs one now.
 */
export class LlmProbe {
  #latest: LlmHealth = {
    status: 'unknown',
    reason: 'the first check has not finished',
    checkedAt: null,
  };
  #running: Promise<LlmHealth> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = new AbortController();

  constructor(private readonly options: LlmProbeOptions) {
    // Known without asking anyone: the bot cannot answer at all.
    if (!options.target.apiKey) {
      this.#latest = {
        status: 'misconfigured',
        reason: 'GROQ_API_KEY is not set',
        checkedAt: new Date(options.now()).toISOString(),
      };
    }
  }

  /** The last result, without waiting. */
  latest(): LlmHealth {
    return this.#latest;
  }

  /**
   * The last result; while the first check is still running, waits for it up to `waitMs` (so a
   * /readyz right after start tells the truth, yet never hangs on a slow endpoint).
   */
  async current(waitMs: number): Promise<LlmHealth> {
    if (this.#latest.checkedAt !== null || !this.#running) return this.#latest;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<LlmHealth>((resolve) => {
      timer = setTimeout(() => resolve(this.#latest), waitMs);
    });
    try {
      return await Promise.race([this.#running, waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a check now (joins one already running) and records its result. */
  check(): Promise<LlmHealth> {
    this.#running ??= (async () => {
      try {
        const verdict = await probeLlm(this.options.target, this.#stopped.signal);
        // Aborted by stop(): the endpoint was not judged.
        if (this.#stopped.signal.aborted) return this.#latest;
        const health: LlmHealth = {
          ...verdict,
          checkedAt: new Date(this.options.now()).toISOString(),
        };
        this.#record(health);
        return health;
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  /** Checks now, then every `intervalMs` after each check ends (never two at once). */
  start(): void {
    const loop = async () => {
      await this.check();
      if (this.options.intervalMs > 0 && !this.#stopped.signal.aborted) {
        this.#timer = setTimeout(loop, this.options.intervalMs);
        this.#timer.unref?.();
      }
    };
    void loop();
  }

  /** Stops the schedule and aborts a check in flight (shutdown). */
  stop(): void {
    this.#stopped.abort();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Logs changes only: a steady state every few minutes is noise. */
  #record(health: LlmHealth): void {
    const before = this.#latest;
    this.#latest = health;
    if (before.status === health.status && before.reason === health.reason) return;
    const { status, reason } = health;
    if (status === 'ok' && reason === null) this.options.log.info({ status }, 'llm check: ok');
    else this.options.log.warn({ status, reason }, 'llm check: calls will fail or hand off');
  }
}
