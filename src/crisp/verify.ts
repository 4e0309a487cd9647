// Webhook authentication: the plugin HMAC over the raw body when the chatbot has a signing secret,
// else the URL `key` in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { safeEqual } from '../http/auth.ts';
import { jsonShapeProblem } from '../http/json-limits.ts';

export type VerifyInput = {
  rawBody: string;
  /** The `key` query parameter, if any. */
  key: string | null;
  signature: string | null;
  /** `X-Crisp-Request-Timestamp` exactly as received (its unit is unconfirmed: s or ms). */
  timestamp: string | null;
};

export type VerifySecrets = { webhookSecret: string; signingSecret: string | null };

export type VerifyResult = { ok: true; via: 'key' | 'signature' } | { ok: false; why: string };

/** hex(HMAC-SHA256(secret, "[" + timestamp + ";" + body + "]")), as Crisp signs plugin hooks. */
export function crispSignature(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`[${timestamp};${body}]`).digest('hex');
}

function hexEqual(expectedHex: string, givenHex: string): boolean {
  const given = givenHex.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(given, 'hex'));
}

/** Seconds or milliseconds since the epoch → milliseconds (values past 1e11 are taken as ms). */
export function timestampMs(raw: string): number | null {
  if (!/^\d{1,16}(\.\d+)?$/.test(raw.trim())) return null;
  const n = Number(raw.trim());
  return n >= 1e11 ? n : n * 1000;
}

function signatureValid(secret: string, input: VerifyInput): boolean {
  if (!input.signature || input.timestamp === null) return false;
  // Go's library signs the raw bytes; Node's re-serialises the parsed body. Raw first, then the
  // canonical JSON.stringify form (docs/notes/contract.md), both compared in constant time.
  if (hexEqual(crispSignature(secret, input.timestamp, input.rawBody), input.signature)) {
    return true;
  }
  // Re-serialising walks the whole value: only for bodies of bounded shape (json-limits.ts).
  if (jsonShapeProblem(input.rawBody) !== null) return false;
  let canonical: string;
  try {
    canonical = JSON.stringify(JSON.parse(input.rawBody));
  } catch {
    return false;
  }
  return (
    canonical !== input.rawBody &&
    hexEqual(crispSignature(secret, input.timestamp, canonical), input.signature)
  );
}

/**
 * Checks a delivery. A chatbot with a signing secret (Plugin Hooks) accepts only a valid
 * signature: the URL key alone, or next to a missing or wrong signature, is refused, since the key
 * travels in URLs that proxies and logs may keep. Without a signing secret (Website Hooks are
 * unsigned) the URL key must match. `maxAgeSeconds` > 0 also refuses signed deliveries whose
 * timestamp is too far from now.
 */
export function verifyDelivery(
  input: VerifyInput,
  secrets: VerifySecrets,
  options: { maxAgeSeconds: number; now: number },
): VerifyResult {
  if (secrets.signingSecret) {
    if (!input.signature) return { ok: false, why: 'missing_signature' };
    if (!signatureValid(secrets.signingSecret, input)) return { ok: false, why: 'bad_signature' };
    if (options.maxAgeSeconds > 0) {
      const at = timestampMs(input.timestamp ?? '');
      if (at === null || Math.abs(options.now - at) > options.maxAgeSeconds * 1000) {
        return { ok: false, why: 'stale_timestamp' };
      }
    }
    return { ok: true, via: 'signature' };
  }
  if (input.key !== null && safeEqual(input.key, secrets.webhookSecret)) {
    return { ok: true, via: 'key' };
  }
  return { ok: false, why: input.key === null ? 'missing_credentials' : 'bad_key' };
}
