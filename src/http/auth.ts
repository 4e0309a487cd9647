// Admin authentication: a bearer token compared in constant time, checked before anything else.
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
 * Paths that need the admin token: `/api/v1` and `/metrics`, with or without a trailing slash or
 * more segments (Elysia routes `/metrics/` to `/metrics`, so an exact match would let it through).
 */
export const isAdminPath = (pathname: string) => /^\/(?:api\/v1|metrics)(?:\/|$)/.test(pathname);
