// Per-request context: a request id, a child logger, and one summary line per request.
import { Elysia } from 'elysia';
import { type Logger, redactUrl } from '../logging.ts';
import type { Metrics } from './metrics.ts';

export type RequestInfo = {
  requestId: string;
  startedAt: number;
  log: Logger;
  /** Set by the error handler, whose Response the after-response hook does not see. */
  status?: number;
};

/** Request state keyed by the Request itself, so error and parse stages see it too. */
const requests = new WeakMap<Request, RequestInfo>();

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The context of a request, created on first use (also for requests outside the plugin). */
export function requestInfo(request: Request, log: Logger): RequestInfo {
  let info = requests.get(request);
  if (!info) {
    const given = request.headers.get('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    info = { requestId, startedAt: performance.now(), log: log.child({ requestId }) };
    requests.set(request, info);
  }
  return info;
}

/** Route template for logs and metrics; unmatched paths collapse into one label. */
function routeLabel(route: string | undefined, status: number): string {
  if (route && route !== '*') return route;
  return status === 404 ? '(unmatched)' : '(unknown)';
}

export function requestContext(deps: { log: Logger; metrics: Metrics }) {
  return new Elysia({ name: 'request-context' })
    .onRequest(({ request, set }) => {
      set.headers['x-request-id'] = requestInfo(request, deps.log).requestId;
    })
    .derive({ as: 'global' }, ({ request }) => {
      const info = requestInfo(request, deps.log);
      return { requestId: info.requestId, log: info.log };
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set, responseValue }) => {
      const info = requestInfo(request, deps.log);
      const durationMs = performance.now() - info.startedAt;
      const status = info.status ?? statusOf(set.status, responseValue);
      const label = routeLabel(route, status);
      deps.metrics.observeRequest(request.method, label, status, durationMs);
      const url = new URL(request.url);
      info.log.info(
        {
          method: request.method,
          route: label,
          path: redactUrl(url.pathname + url.search),
          status,
          durationMs: Math.round(durationMs * 100) / 100,
          outcome: status >= 500 ? 'error' : status >= 400 ? 'rejected' : 'ok',
        },
        'request',
      );
    });
}

function statusOf(status: number | string | undefined, response: unknown): number {
  if (response instanceof Response) return response.status;
  return typeof status === 'number' ? status : 200;
}
