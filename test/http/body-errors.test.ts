// What a caller reads when a body is wrong: invalid JSON says what and where (line, column) without
// quoting the body; a missing field says "is required".
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import fc from 'fast-check';
import { jsonSyntaxError } from '../../src/http/json-syntax.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

const post = (path: string, body: string) =>
  t.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('jsonSyntaxError', () => {
  it('should give the line and column of the first bad character', () => {
    expect(jsonSyntaxError('{"name": "Support bot",\n  "model": tru\n}')).toEqual({
      problem: 'expected a value',
      line: 2,
      column: 12,
    });
    expect(jsonSyntaxError('{"name": "Support bot",}')).toEqual({
      problem: 'expected a property name in double quotes',
      line: 1,
      column: 24,
    });
    expect(jsonSyntaxError('{"a" 1}')?.problem).toBe('expected ":" after a property name');
    expect(jsonSyntaxError('[1 2]')?.problem).toBe('expected "," or "]" after an array item');
    expect(jsonSyntaxError('{"a":"\\q"}')?.problem).toBe('invalid escape in a string');
    expect(jsonSyntaxError('{"a":1}}')?.problem).toBe('unexpected text after the JSON value');
    expect(jsonSyntaxError('{"name":')).toEqual({
      problem: 'unexpected end (expected a value)',
      line: 1,
      column: 9,
    });
    // Columns count characters: an emoji before the error is one.
    expect(jsonSyntaxError('["😀", x]')?.column).toBe(7);
    expect(jsonSyntaxError('{"a": [1, {"b": null}], "c": -1.5e+3, "d": "\\u00e9\\n"}')).toBeNull();
  });

  it('should find an error exactly when JSON.parse finds one (property test)', () => {
    const parses = (text: string) => {
      try {
        JSON.parse(text);
        return true;
      } catch {
        return false;
      }
    };
    // Valid JSON, and the same text cut, spliced or with a character swapped in.
    const text = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.tuple(fc.json({ maxDepth: 4 }), fc.nat()).map(([s, n]) => s.slice(0, n % (s.length + 1))),
      fc
        .tuple(
          fc.json({ maxDepth: 4 }),
          fc.nat(),
          fc.constantFrom(...'{}[],:"\\ \n-.0eEtfnu\u0001x'),
        )
        .map(([s, n, c]) => {
          const at = n % (s.length + 1);
          return `${s.slice(0, at)}${c}${s.slice(at + (n % 2))}`;
        }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    fc.assert(
      fc.property(text, (s) => (jsonSyntaxError(s) === null) === parses(s)),
      { seed: 20_240_607, numRuns: 300 },
    );
  });
});

describe('body errors (answers)', () => {
  it('should answer 400 INVALID_JSON with the line and column, never quoting the body', async () => {
    const res = await post('/api/v1/chatbots', '{\n  "name": "SECRET-NAME",\n  "model": SECRET\n}');
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toBe(
      'The request body is not valid JSON: expected a value at line 3, column 12',
    );
    expect(error.message).not.toContain('SECRET');
  });

  it('should keep the message short for a huge broken body', async () => {
    const res = await post('/api/v1/chatbots', `{"name": "${'x'.repeat(500_000)}`);
    const { error } = await res.json();
    expect(error.message).toBe(
      'The request body is not valid JSON: unexpected end (unterminated string) at line 1, column 500011',
    );
  });

  it('should say "is required" for a missing field, and list the choices of a missing tag', async () => {
    const missing = await (await post('/api/v1/chatbots', '{}')).json();
    expect(missing.error.message).toBe('Invalid body: name: is required');
    const bot = await (
      await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'b' } })
    ).json();
    const untagged = await (await post(`/api/v1/chatbots/${bot.id}/sources`, '{}')).json();
    expect(untagged.error.message).toBe(
      'Invalid body: type: is required, expected ("text" | "qa" | "url" | "sitemap" | "file")',
    );
    const text = await (
      await post(`/api/v1/chatbots/${bot.id}/sources`, '{"type": "text", "title": "t"}')
    ).json();
    expect(text.error.message).toBe('Invalid body: text: is required');
    // A field present with the wrong type still says what it expects.
    const wrong = await (await post('/api/v1/chatbots', '{"name": 5}')).json();
    expect(wrong.error.message).toBe('Invalid body: name: expected string');
  });

  it('should take an empty form field as absent, as a browser form sends every field', async () => {
    const bot = await (
      await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'f' } })
    ).json();
    const form = new FormData();
    form.set('file', new File(['Refunds take 5 days.'], 'refunds.txt'));
    form.set('title', '');
    form.set('externalId', '');
    const res = await t.request(`/api/v1/chatbots/${bot.id}/sources`, {
      method: 'POST',
      body: form,
    });
    expect(res.status).toBe(202);
    const source = await res.json();
    expect([source.title, source.externalId]).toEqual(['refunds.txt', null]);
  });
});
