// Secrets at rest: AES-256-GCM under a key derived from SECRET_KEY, one random IV per value.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Stored form: `v1:<base64url(iv ‖ ciphertext ‖ tag)>`. The version prefix lets a later key
 * rotation or algorithm change recognise old values; the 12-byte IV is random per value and the
 * 16-byte GCM tag authenticates it (a tampered or wrongly keyed value fails to open).
 */
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** HKDF context: a key derived for this purpose cannot be confused with other uses of SECRET_KEY. */
const INFO = 'answerdesk/crisp-credentials/aes-256-gcm/v1';
const SALT = 'answerdesk';

const keys = new Map<string, Buffer>();

/** HKDF-SHA256(SECRET_KEY) → 32-byte key, cached per process (derivation is the slow part). */
function keyFor(secretKey: string): Buffer {
  let key = keys.get(secretKey);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secretKey, SALT, INFO, 32));
    keys.set(secretKey, key);
  }
  return key;
}

export class SecretBox {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    this.key = keyFor(secretKey);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** Opens a sealed value; throws when it was sealed under another key or altered. */
  open(sealed: string): string {
    const [version, data] = sealed.split(':', 2);
    if (version !== VERSION || !data) throw new Error('unknown secret format');
    const raw = Buffer.from(data, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('truncated secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  }
}

/** Shows enough of a value to recognise it, never enough to use it: `••••wxyz` or `••••`. */
export function mask(value: string): string {
  if (value.length < 12) return '••••';
  return `••••${value.slice(-4)}`;
}
