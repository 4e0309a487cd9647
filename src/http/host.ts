// The request as the router needs it: an absolute URL whose path starts where Elysia looks for it.
import { envelope } from './error-handler.ts';

/** Where Elysia's router starts looking for the path: it assumes `http://` + a host of ≥ 4 chars. */
const ROUTER_PATH_SEARCH_FROM = 11;

/**
 * Bun builds `request.url` from the Host header. Without a usable Host (HTTP/1.0, an empty or
 * malformed header) the URL is relative: refuse it with 400. With a host shorter than 4
 * characters (`Host: x`) Elysia would cut the path in the wrong place and route `/zz/api/v1/…` to
 * `/api/v1/…`: such a request is rebuilt under a long placeholder host (headers, method and body
 * kept) so it routes on its real path. Authentication decides on the routed path either way.
 */
export function routableRequest(request: Request): Request | Response {
  const url = request.url;
  const scheme = url.startsWith('http://') ? 7 : url.startsWith('https://') ? 8 : -1;
  const pathStart = scheme === -1 ? -1 : url.indexOf('/', scheme);
  if (pathStart === -1 || pathStart === scheme) {
    return new Response(
      JSON.stringify(
        envelope('BAD_REQUEST', 'Missing or malformed Host header', crypto.randomUUID()),
      ),
      { status: 400, headers: { 'content-type': 'application/json; charset=utf-8' } },
    );
  }
  if (pathStart >= ROUTER_PATH_SEARCH_FROM) return request;
  return new Request(`http://localhost${url.slice(pathStart)}`, request);
}
