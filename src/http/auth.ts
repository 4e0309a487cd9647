// Admin authentication: deny by default. Every path needs the admin token unless it is one of the
// few public routes below; the decision is made on the path the router routes, never on a second
// parse of the URL (the two can differ: see `routedPath` in src/app.ts and test/http/auth-bypass).
import { timingSafeEqual } from 'node:crypto';

const digest = (s: string) => new Bun.CryptoHasher('sha256').update(s).digest();

/** Constant-time string equality (both sides hashed first, so lengths never leak). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** True when `authorization` is `Bearer <token>` with the admin token. */
export function isAdmin(authorization: string | null, adminToken: string): boolean {
  if (!authorization) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1] !== undefined && safeEqual(match[1], adminToken);
}

/**
 * The routes anyone may call, as exact patterns over the raw routed path (no decoding: the router
 * matches static segments raw, so `%2F` or `%61` never turn a public path into an admin one or
 * back). A trailing slash is allowed because the router ignores it. Everything else — admin API,
 * /metrics, unknown paths — needs the token, so a new route is protected unless listed here.
 */
const PUBLIC_PATHS = [
  /^\/healthz\/?$/,
  /^\/readyz\/?$/,
  /^\/docs\/?$/,
  /^\/docs\/json\/?$/,
  /^\/docs\/assets\/swagger-ui(?:-bundle\.js|\.css)$/,
  // The dashboard page and its files hold no data: its API calls carry the token.
  /^\/dashboard\/?$/,
  /^\/dashboard\/assets\/[a-z]+\.(?:js|css)$/,
  // The Crisp webhook authenticates itself (URL key or HMAC signature).
  /^\/api\/integrations\/livechat\/crisp\/webhook\/[^/]+\/?$/,
];

/** True for the few routes that need no admin token (see PUBLIC_PATHS). */
export const isPublicPath = (path: string) => PUBLIC_PATHS.some((re) => re.test(path));
