// JSON bodies of bounded shape: depth and number of values are checked by one scan before any
// parsing or validation, on every route that takes a JSON body (D4).
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { JSON_DEPTH_MAX, JSON_VALUES_MAX, jsonShapeProblem } from '../../src/http/json-limits.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

const nestedArrays = (depth: number, inner = '') =>
  `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('jsonShapeProblem', () => {
  it('should accept JSON up to the depth limit and refuse one level more', () => {
    expect(jsonShapeProblem(nestedArrays(JSON_DEPTH_MAX))).toBeNull();
    expect(jsonShapeProblem(nestedObjects(JSON_DEPTH_MAX))).toBeNull();
    expect(jsonShapeProblem(nestedArrays(JSON_DEPTH_MAX + 1))).toContain('deeper than 32');
    expect(jsonShapeProblem(nestedObjects(JSON_DEPTH_MAX + 1))).toContain('deeper than 32');
  });

  it('should count array items and object members at every level, and refuse one more than the limit', () => {
    const items = (n: number) => `[${Array(n).fill('1').join(',')}]`;
    // The array itself is a value of nothing; its items are counted.
    expect(jsonShapeProblem(items(JSON_VALUES_MAX))).toBeNull();
    expect(jsonShapeProblem(items(JSON_VALUES_MAX + 1))).toContain('more than 10000 values');
    const members = (n: number) =>
      `{${Array.from({ length: n }, (_, i) => `"k${i}":{}`).join(',')}}`;
    expect(jsonShapeProblem(members(JSON_VALUES_MAX))).toBeNull();
    expect(jsonShapeProblem(members(JSON_VALUES_MAX + 1))).not.toBeNull();
    // Nested: 100 arrays of 100 items, plus the 100 arrays themselves, is over 10,000.
    const grid = `[${Array(100).fill(items(100)).join(',')}]`;
    expect(jsonShapeProblem(grid)).not.toBeNull();
    expect(jsonShapeProblem('[]')).toBeNull();
    expect(jsonShapeProblem('{ }')).toBeNull();
  });

  it('should ignore brackets, commas and escaped quotes inside strings', () => {
    const tricky = JSON.stringify({
      text: `${'['.repeat(1000)}${','.repeat(20_000)}\\"{{{`,
      quote: 'a "quoted" [word]',
    });
    expect(jsonShapeProblem(tricky)).toBeNull();
    // An escaped backslash closes nothing: the quote after it ends the string.
    expect(jsonShapeProblem(`["\\\\", ${nestedArrays(JSON_DEPTH_MAX)}]`)).not.toBeNull();
    expect(jsonShapeProblem(`["\\\\\\"", ${nestedArrays(JSON_DEPTH_MAX - 1)}]`)).toBeNull();
  });
});

describe('JSON bodies over the limits (every route)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  /** Every route that takes a JSON body from the admin, with its path parameters filled in. */
  const bodyRoutes = () =>
    t.app.routes
      .filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method))
      .filter((r) => !r.path.startsWith('/api/integrations/'))
      .map((r) => ({ method: r.method, path: r.path.replace(/:[A-Za-z]+/g, 'x1') }));

  it('should answer 400 with the envelope to 20,000- and 100,000-level bodies on every route', async () => {
    const routes = bodyRoutes();
    expect(routes.length).toBeGreaterThan(10);
    const bodies = [
      nestedArrays(20_000),
      `{"name":${nestedArrays(20_000)}}`,
      `{"name":"x","extra":${nestedObjects(100_000)}}`,
    ];
    for (const { method, path } of routes) {
      for (const body of bodies) {
        const res = await t.request(path, {
          method,
          body,
          headers: { 'content-type': 'application/json' },
        });
        expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 400`);
        const { error } = await res.json();
        expect(error.code).toBe('BAD_REQUEST');
        expect(error.message).toBe('The JSON body nests deeper than 32 levels');
        expect(typeof error.requestId).toBe('string');
      }
    }
  });

  it('should answer 400 to a flat body of more values than the limit, and take one within it', async () => {
    const many = `{"name":[${Array(500_000).fill('1').join(',')}]}`;
    const res = await t.request('/api/v1/chatbots', {
      method: 'POST',
      body: many,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain('more than 10000 values');
    const ok = await t.request('/api/v1/chatbots', {
      method: 'POST',
      json: {
        name: 'Nested but fine',
        handoff: { translations: { fr: { message: 'Un humain' } } },
      },
    });
    expect(ok.status).toBe(201);
  });
});
