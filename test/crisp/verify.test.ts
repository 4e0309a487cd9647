// Units: the webhook signature and key checks, and the at-rest encryption of secrets.
import { describe, expect, it } from 'bun:test';
import { mask, SecretBox } from '../../src/crisp/secret-box.ts';
import { crispSignature, timestampMs, verifyDelivery } from '../../src/crisp/verify.ts';

const secrets = { webhookSecret: 'webhook-secret-0123456789', signingSecret: 'signing-secret' };
const now = 1_700_000_000_000;
const body = '{"website_id":"w","event":"message:send","data":{}}';

describe('verifyDelivery', () => {
  it('should match the documented formula hex(HMAC-SHA256(secret, "[ts;body]"))', () => {
    const expected = new Bun.CryptoHasher('sha256', 'signing-secret')
      .update(`[123;${body}]`)
      .digest('hex');
    expect(crispSignature('signing-secret', '123', body)).toBe(expected);
  });

  it('should accept a good signature (upper-case hex too) and refuse a bad one', () => {
    const signature = crispSignature(secrets.signingSecret, '1700000000', body);
    const input = { rawBody: body, key: null, signature, timestamp: '1700000000' };
    expect(verifyDelivery(input, secrets, { maxAgeSeconds: 0, now })).toEqual({
      ok: true,
      via: 'signature',
    });
    expect(
      verifyDelivery({ ...input, signature: signature.toUpperCase() }, secrets, {
        maxAgeSeconds: 0,
        now,
      }).ok,
    ).toBe(true);
    expect(
      verifyDelivery({ ...input, signature: 'ab' }, secrets, { maxAgeSeconds: 0, now }).ok,
    ).toBe(false);
    expect(
      verifyDelivery({ ...input, timestamp: '1700000001' }, secrets, { maxAgeSeconds: 0, now }).ok,
    ).toBe(false);
    expect(
      verifyDelivery({ ...input, timestamp: null }, secrets, { maxAgeSeconds: 0, now }).ok,
    ).toBe(false);
  });

  it('should refuse a wrong signature even with the right key', () => {
    const input = {
      rawBody: body,
      key: secrets.webhookSecret,
      signature: '0'.repeat(64),
      timestamp: '1',
    };
    expect(verifyDelivery(input, secrets, { maxAgeSeconds: 0, now })).toEqual({
      ok: false,
      why: 'bad_signature',
    });
  });

  it('should accept the right key without a signing secret, and refuse wrong or missing keys', () => {
    const unsigned = { ...secrets, signingSecret: null };
    const input = { rawBody: body, key: secrets.webhookSecret, signature: null, timestamp: null };
    expect(verifyDelivery(input, unsigned, { maxAgeSeconds: 0, now })).toEqual({
      ok: true,
      via: 'key',
    });
    expect(verifyDelivery({ ...input, key: 'nope' }, unsigned, { maxAgeSeconds: 0, now })).toEqual({
      ok: false,
      why: 'bad_key',
    });
    expect(verifyDelivery({ ...input, key: null }, unsigned, { maxAgeSeconds: 0, now })).toEqual({
      ok: false,
      why: 'missing_credentials',
    });
    // Without a signing secret, a signature header is ignored and the key decides.
    expect(
      verifyDelivery({ ...input, signature: 'f'.repeat(64) }, unsigned, { maxAgeSeconds: 0, now })
        .ok,
    ).toBe(true);
  });

  it('should refuse the right key without a valid signature when a signing secret is set', () => {
    const input = { rawBody: body, key: secrets.webhookSecret, signature: null, timestamp: null };
    expect(verifyDelivery(input, secrets, { maxAgeSeconds: 0, now })).toEqual({
      ok: false,
      why: 'missing_signature',
    });
    expect(
      verifyDelivery({ ...input, signature: '', timestamp: '1' }, secrets, {
        maxAgeSeconds: 0,
        now,
      }),
    ).toEqual({ ok: false, why: 'missing_signature' });
    const signature = crispSignature(secrets.signingSecret, '1', body);
    expect(
      verifyDelivery({ ...input, signature, timestamp: '1' }, secrets, { maxAgeSeconds: 0, now }),
    ).toEqual({ ok: true, via: 'signature' });
  });

  it('should not re-serialise a body outside the JSON bounds (no canonical form for it)', () => {
    // Re-serialising walks the whole value: a 1 MB body of 500,000 levels took 1.3 s to fail.
    const deep = `{"website_id":"w","event":"e","data":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    const canonical = JSON.stringify(JSON.parse(` ${deep}`));
    const signedCanonical = {
      rawBody: ` ${deep}`,
      key: null,
      signature: crispSignature(secrets.signingSecret, '1', canonical),
      timestamp: '1',
    };
    expect(verifyDelivery(signedCanonical, secrets, { maxAgeSeconds: 0, now })).toEqual({
      ok: false,
      why: 'bad_signature',
    });
    // Signed over its raw bytes it is authentic (the webhook then refuses its shape with 400).
    const signedRaw = {
      ...signedCanonical,
      signature: crispSignature(secrets.signingSecret, '1', ` ${deep}`),
    };
    expect(verifyDelivery(signedRaw, secrets, { maxAgeSeconds: 0, now }).ok).toBe(true);
  });

  it('should apply the replay window to seconds and milliseconds alike', () => {
    for (const ts of [String(now / 1000 - 10), String(now - 10_000)]) {
      const input = {
        rawBody: body,
        key: null,
        signature: crispSignature('signing-secret', ts, body),
        timestamp: ts,
      };
      expect(verifyDelivery(input, secrets, { maxAgeSeconds: 60, now }).ok).toBe(true);
      expect(verifyDelivery(input, secrets, { maxAgeSeconds: 5, now })).toEqual({
        ok: false,
        why: 'stale_timestamp',
      });
    }
    expect(timestampMs('1700000000')).toBe(1_700_000_000_000);
    expect(timestampMs('1700000000000')).toBe(1_700_000_000_000);
    expect(timestampMs('abc')).toBeNull();
  });
});

describe('SecretBox', () => {
  it('should round-trip with a version prefix and a fresh IV per value', () => {
    const box = new SecretBox('a-secret-key-of-some-length');
    const a = box.seal('token');
    const b = box.seal('token');
    expect(a.startsWith('v1:')).toBe(true);
    expect(a).not.toBe(b);
    expect(box.open(a)).toBe('token');
    expect(box.open(b)).toBe('token');
  });

  it('should refuse values sealed under another key or altered', () => {
    const sealed = new SecretBox('key-one-0123456789').seal('token');
    expect(() => new SecretBox('key-two-0123456789').open(sealed)).toThrow();
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    raw[14] = (raw[14] ?? 0) ^ 1;
    expect(() =>
      new SecretBox('key-one-0123456789').open(`v1:${raw.toString('base64url')}`),
    ).toThrow();
    expect(() => new SecretBox('key-one-0123456789').open('v2:abc')).toThrow();
  });

  it('should mask values', () => {
    expect(mask('short')).toBe('••••');
    expect(mask('0123456789abcdef')).toBe('••••cdef');
  });
});
