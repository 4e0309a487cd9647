// A property-based fuzz test generated from the OpenAPI document (/docs/json): for every operation,
// valid and mutated bodies, path parameters, query strings, content types, nesting, huge strings
// and odd unicode, with and without the token. Whatever comes in, the answer is never a 5xx, every
// error is the envelope {"error":{"code","message","requestId"}}, and no error echoes an input
// string beyond a bounded field name (FIELD_PATH_CHARS_MAX characters). Fixed seed, bounded runs.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import fc from 'fast-check';
import { FIELD_PATH_CHARS_MAX } from '../../src/http/error-handler.ts';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.ts';
import {
  type FakeCrisp,
  operatorMessage,
  startFakeCrisp,
  visitorMessage,
  WEBSITE_ID,
} from '../helpers/fake-crisp.ts';
import { type FakeGroq, startFakeGroq } from '../helpers/fake-groq.ts';

// Fixed in CI; FUZZ_SEED and FUZZ_RUNS explore further by hand (e.g. FUZZ_RUNS=500).
const SEED = Number(Bun.env.FUZZ_SEED ?? 20_240_607);
/** Generated requests per operation (about 35 operations). */
const RUNS_PER_OPERATION = Number(Bun.env.FUZZ_RUNS ?? 30);

const TOKEN = {
  identifier: 'fuzz-identifier-0001',
  key: 'fuzz-key-0123456789',
  tier: 'plugin' as const,
};

type Schema = { [key: string]: unknown };
type Operation = {
  method: string;
  path: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
};

let t: TestApp;
let groq: FakeGroq;
let crisp: FakeCrisp;
let doc: {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

beforeAll(async () => {
  groq = await startFakeGroq();
  crisp = startFakeCrisp({ tokens: [TOKEN], websites: [WEBSITE_ID] });
  t = await buildTestApp({
    GROQ_BASE_URL: groq.baseUrl,
    GROQ_API_KEY: 'fuzz-groq-key',
    CRISP_API_URL: crisp.url,
    // The Crisp client's calls go to the fake; keep a failing one short.
    CRISP_TIMEOUT_MS: '2000',
  });
  doc = await (await t.request('/docs/json', { auth: false })).json();
});
afterAll(async () => {
  await t.close();
  await groq.stop();
  await crisp.close();
});

// ---------------------------------------------------------------------------------------------
// Values: from a JSON Schema, and the hostile ones mixed into them.

/** A string over `FIELD_PATH_CHARS_MAX`, made to be recognisable if it came back. */
const longText = fc
  .tuple(
    fc.integer({ min: FIELD_PATH_CHARS_MAX + 1, max: 60_000 }),
    fc.constantFrom('A', 'é', '😀', '"', '\\'),
  )
  .map(([n, c]) => `LONG${c.repeat(n)}`);

/** Unicode that breaks naive code: controls, bidi overrides, combining marks, NUL, lone surrogates. */
const oddText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom(
    '',
    '\u0000',
    '\uD800',
    'x\uDC00y',
    '\u202Eevil',
    'a\u0301\u0301\u0301',
    '\r\n\r\n',
    '"\'\\`',
    '%s%n%x',
    '\u0024{process.env}',
    '<img src=x onerror=1>',
    '../../etc/passwd',
    ' ',
    '\uFEFF{}',
  ),
);

const nestedValue = fc
  .integer({ min: 1, max: 200 })
  .map((depth) => JSON.parse(`${'['.repeat(depth)}1${']'.repeat(depth)}`) as unknown);

const oddNumber = fc.constantFrom(-0, 1e308, -1e308, 2 ** 53 + 1, 0.1, -1, 1e-320, 65_536);

/** Anything at all in place of a value. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: oddText },
  { weight: 2, arbitrary: longText },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: nestedValue },
  { weight: 1, arbitrary: oddNumber },
);

const oddKey = fc.oneof(oddText, longText, fc.constantFrom('__proto__', 'constructor', 'a.b', ''));

const FILE = Symbol('file');

function resolve(schema: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  return doc.components?.schemas?.[ref.replace('#/components/schemas/', '')] ?? {};
}

const clampInt = (n: unknown, fallback: number) =>
  typeof n === 'number' ? Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.ceil(n))) : fallback;

/** A value the schema accepts (mostly: patterns and formats are approximated). */
function arbitraryOf(raw: Schema): fc.Arbitrary<unknown> {
  const schema = resolve(raw);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map(arbitraryOf));
  const types = Array.isArray(schema.type)
    ? (schema.type as string[])
    : schema.type
      ? [schema.type as string]
      : [];
  if (types.length === 0) return fc.jsonValue({ maxDepth: 3 });
  if (types.length > 1) return fc.oneof(...types.map((type) => arbitraryOf({ ...schema, type })));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const min = clampInt(schema.minimum, -1_000);
      return fc.integer({ min, max: Math.max(min, clampInt(schema.maximum, 1_000_000)) });
    }
    case 'number':
      return fc.double({
        min: (schema.minimum as number | undefined) ?? -1e6,
        max: (schema.maximum as number | undefined) ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'string': {
      if (schema.format === 'binary') return fc.constant(FILE);
      if (schema.format === 'uri')
        return fc.constantFrom('https://example.com/help', 'http://127.0.0.1:9/x');
      const minLength = (schema.minLength as number | undefined) ?? 0;
      const maxLength = Math.max(
        minLength,
        Math.min((schema.maxLength as number | undefined) ?? 40, 40),
      );
      if (typeof schema.pattern === 'string') {
        return fc
          .stringMatching(new RegExp(schema.pattern))
          .filter(
            (s) => s.length >= minLength && s.length <= ((schema.maxLength as number) ?? Infinity),
          );
      }
      return fc.string({ unit: 'grapheme', minLength, maxLength });
    }
    case 'array': {
      const items = arbitraryOf((schema.items as Schema | undefined) ?? {});
      const minLength = (schema.minItems as number | undefined) ?? 0;
      return fc.array(items, {
        minLength,
        maxLength: Math.max(minLength, Math.min((schema.maxItems as number) ?? 3, 3)),
      });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      const model = Object.fromEntries(
        Object.entries(properties).map(([k, s]) => [k, arbitraryOf(s)]),
      );
      const known = fc.record(model, { requiredKeys: required });
      const extra = schema.additionalProperties;
      if (!extra || typeof extra !== 'object') return known;
      const names = arbitraryOf({
        type: 'string',
        ...((schema.propertyNames as Schema) ?? {}),
      }) as fc.Arbitrary<string>;
      return fc
        .tuple(known, fc.dictionary(names, arbitraryOf(extra as Schema), { maxKeys: 2 }))
        .map(([a, b]) => ({ ...b, ...a }));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Valid bodies, and the same bodies broken in one of the ways callers (and attackers) do. */
function bodyOf(schema: Schema): fc.Arbitrary<unknown> {
  const valid = arbitraryOf(schema);
  const asObject = (v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    // A field removed, a field of the wrong kind, a field nobody asked for.
    {
      weight: 2,
      arbitrary: fc.tuple(valid, fc.nat()).map(([v, i]) => {
        const o = { ...asObject(v) };
        const keys = Object.keys(o);
        if (keys.length > 0) delete o[keys[i % keys.length]!];
        return o;
      }),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(valid, fc.nat(), oddValue).map(([v, i, x]) => {
        const o = { ...asObject(v) };
        const keys = Object.keys(o);
        if (keys.length > 0) o[keys[i % keys.length]!] = x;
        return o;
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, oddKey, oddValue).map(([v, k, x]) => ({ ...asObject(v), [k]: x })),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 1, arbitrary: nestedValue },
  );
}

/** Crisp-shaped deliveries (the webhook's body is free-form in the document). */
const crispEvent: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .tuple(fc.oneof(oddText, longText), fc.integer())
    .map(([text, fp]) => visitorMessage(text, { fingerprint: Math.abs(fp) })),
  fc
    .tuple(oddText, fc.oneof(oddText, longText))
    .map(([text, nickname]) => operatorMessage(text, { nickname })),
  fc.record({
    website_id: fc.oneof(fc.constant(WEBSITE_ID), oddText, longText),
    event: fc.oneof(
      fc.constantFrom(
        'message:send',
        'message:received',
        'message:compose:receive',
        'session:set_state',
        'session:set_routing',
      ),
      oddText,
      longText,
    ),
    data: fc.oneof(
      fc.record(
        {
          session_id: fc.oneof(fc.constant('session_fuzz'), oddText, longText),
          type: fc.oneof(fc.constant('text'), oddText),
          from: fc.constantFrom('user', 'operator', 'x'),
          content: oddValue,
          fingerprint: fc.oneof(fc.integer(), oddText, longText),
          state: fc.oneof(fc.constant('resolved'), oddText),
          routing_id: fc.oneof(fc.constant(null), oddText),
          user: fc.oneof(fc.constant(null), fc.record({ nickname: fc.oneof(oddText, longText) })),
        },
        { requiredKeys: [] },
      ),
      oddValue,
    ),
  }),
  fc.jsonValue({ maxDepth: 4 }),
);

// ---------------------------------------------------------------------------------------------
// Requests.

type Fixtures = {
  chatbotId: string;
  planId: string;
  sourceId: string;
  sessionId: string;
  key: string;
};

/** A fresh chatbot with a plan, a source, a Crisp connection and a conversation, per operation. */
async function makeFixtures(): Promise<Fixtures> {
  const json = async (path: string, method: string, body: unknown) =>
    (await t.request(path, { method, json: body })).json();
  const plan = await json('/api/v1/plans', 'POST', {
    name: `plan-${crypto.randomUUID()}`,
    monthlyMessages: 100,
  });
  const bot = await json('/api/v1/chatbots', 'POST', {
    name: `bot-${crypto.randomUUID()}`,
    planId: plan.id,
  });
  const source = await json(`/api/v1/chatbots/${bot.id}/sources`, 'POST', {
    type: 'text',
    title: 'Refunds',
    text: 'Refunds are paid back within five business days.',
  });
  const connected = await json(`/api/v1/chatbots/${bot.id}/integrations/crisp`, 'PUT', {
    websiteId: WEBSITE_ID,
    tokenIdentifier: TOKEN.identifier,
    tokenKey: TOKEN.key,
  });
  const key = new URL(connected.webhookUrl).searchParams.get('key')!;
  const sessionId = `session_${crypto.randomUUID()}`;
  await t.app.handle(
    new Request(`http://localhost/api/integrations/livechat/crisp/webhook/${bot.id}?key=${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(visitorMessage('Hello', { sessionId })),
    }),
  );
  return { chatbotId: bot.id, planId: plan.id, sourceId: source.id, sessionId, key };
}

/** encodeURIComponent, also for strings with lone surrogates (which it refuses). */
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.toWellFormed());
  }
}

const paramValue = (fixtures: Fixtures, name: string) => {
  const known: Record<string, string> = {
    chatbotId: fixtures.chatbotId,
    planId: fixtures.planId,
    sourceId: fixtures.sourceId,
    sessionId: fixtures.sessionId,
  };
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(known[name] ?? 'x') },
    { weight: 1, arbitrary: fc.constant('default') },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }) },
    { weight: 1, arbitrary: longText.map((s) => s.slice(0, 2_000)) },
    { weight: 1, arbitrary: fc.constantFrom('..', '%', '%00', ' ', 'a/b', '?x=1', '#f') },
  );
};

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/vnd.api+json',
  'multipart/form-data',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'x/y; boundary=',
  null,
];

type Sent = { request: Request; inputs: string[] };

/** Every string the request carries (keys too): what an error must not echo in full. */
function stringsIn(value: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 300) return out;
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out, depth + 1);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      stringsIn(v, out, depth + 1);
    }
  }
  return out;
}

function encodeBody(value: unknown, type: string | null, broken: number): BodyInit | undefined {
  if (type?.startsWith('multipart/form-data')) {
    const form = new FormData();
    for (const [k, v] of Object.entries(value && typeof value === 'object' ? value : { value })) {
      if (v === FILE)
        form.set(k.toWellFormed(), new File(['Refunds take five days.'], 'notes.txt'));
      else form.set(k.toWellFormed(), typeof v === 'string' ? v.toWellFormed() : JSON.stringify(v));
    }
    return form;
  }
  const text = JSON.stringify(value, (_k, v) => (v === FILE ? 'file' : v)) ?? 'null';
  // Now and then the JSON itself is broken: cut short, with garbage after it, or empty.
  const variants = [
    text,
    text.slice(0, Math.max(0, text.length - 1)),
    `${text}}`,
    '',
    `\uFEFF${text}`,
  ];
  return new TextEncoder().encode(variants[broken % 10 < 7 ? 0 : broken % variants.length]);
}

function requestOf(op: Operation, fixtures: Fixtures): fc.Arbitrary<Sent> {
  const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
  const queryParams = (op.parameters ?? []).filter((p) => p.in === 'query');
  const isWebhook = op.path.startsWith('/api/integrations/');
  const bodySchema = op.requestBody?.content
    ? (Object.values(op.requestBody.content)[0]?.schema ?? {})
    : null;
  const accepts = Object.keys(op.requestBody?.content ?? {});
  return fc
    .record({
      params: fc.record(
        Object.fromEntries(pathParams.map((p) => [p.name, paramValue(fixtures, p.name)])),
      ),
      query: fc.record(
        Object.fromEntries([
          ...queryParams.map((p) => [
            p.name,
            fc.oneof(arbitraryOf(p.schema ?? {}).map(String), oddText, longText),
          ]),
          ...(isWebhook
            ? [
                [
                  'key',
                  fc.oneof({ weight: 5, arbitrary: fc.constant(fixtures.key) }, oddText, longText),
                ],
              ]
            : []),
          ['extra', fc.oneof(oddText, longText)],
        ]),
        { requiredKeys: [] },
      ),
      body: bodySchema
        ? isWebhook
          ? crispEvent
          : bodyOf(bodySchema)
        : fc.option(oddValue, { freq: 4 }),
      contentType: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.constantFrom(...(accepts.length ? accepts : ['application/json'])),
        },
        { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      ),
      broken: fc.nat(),
      auth: fc.oneof(
        { weight: 8, arbitrary: fc.constant(`Bearer ${ADMIN_TOKEN}`) },
        fc.constantFrom(
          null,
          'Bearer wrong-token',
          `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
          `bearer ${ADMIN_TOKEN}`,
          'Basic x',
        ),
      ),
      stream: fc.boolean(),
    })
    .map(({ params, query, body, contentType, broken, auth, stream }) => {
      const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
        encode(String(params[name] ?? 'x')),
      );
      const search = Object.entries(query)
        .map(([k, v]) => `${k}=${encode(String(v))}`)
        .join('&');
      const headers = new Headers();
      if (auth) headers.set('authorization', auth);
      if (stream) headers.set('accept', 'text/event-stream');
      let payload: BodyInit | undefined;
      if (op.method !== 'get' && op.method !== 'delete' && body !== null) {
        payload = encodeBody(body, contentType, broken);
        if (contentType && !contentType.startsWith('multipart/'))
          headers.set('content-type', contentType);
      }
      const request = new Request(`http://localhost${path}${search ? `?${search}` : ''}`, {
        method: op.method.toUpperCase(),
        headers,
        body: payload,
      });
      const inputs = [
        ...Object.values(params).map(String),
        ...Object.values(query).map(String),
        ...stringsIn(body),
      ];
      return { request, inputs };
    });
}

/** What every answer must satisfy; returns why not, or null. */
async function problemWith(sent: Sent, res: Response): Promise<string | null> {
  const where = `${sent.request.method} ${new URL(sent.request.url).pathname.slice(0, 120)} → ${res.status}`;
  const text = await res.text();
  if (res.status >= 500) return `${where}: a 5xx (${text.slice(0, 300)})`;
  if (res.status < 400) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `${where}: the error is not JSON (${text.slice(0, 200)})`;
  }
  const error = (parsed as { error?: Record<string, unknown> }).error;
  if (
    !error ||
    Object.keys(parsed as object).join() !== 'error' ||
    Object.keys(error).sort().join() !== 'code,message,requestId' ||
    typeof error.code !== 'string' ||
    !/^[A-Z][A-Z_]*$/.test(error.code) ||
    typeof error.message !== 'string' ||
    typeof error.requestId !== 'string' ||
    error.requestId === ''
  ) {
    return `${where}: not the error envelope (${text.slice(0, 200)})`;
  }
  for (const input of sent.inputs) {
    if (input.length <= FIELD_PATH_CHARS_MAX) continue;
    const head = input.slice(0, FIELD_PATH_CHARS_MAX + 1);
    if (error.message.includes(head) || error.code.includes(head)) {
      return `${where}: echoes an input of ${input.length} characters (${error.message.slice(0, 200)})`;
    }
  }
  return null;
}

describe('OpenAPI fuzz (fixed seed)', () => {
  it('should never answer 5xx, always use the envelope and never echo long input, for every operation', async () => {
    const problems: string[] = [];
    const exercised = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const fixtures = await makeFixtures();
        const operation = { ...op, method, path };
        await fc
          .assert(
            fc.asyncProperty(requestOf(operation, fixtures), async (sent) => {
              exercised.add(`${method} ${path}`);
              const problem = await problemWith(sent, await t.app.handle(sent.request));
              if (problem) problems.push(problem);
              return problem === null;
            }),
            { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
          )
          .catch((e: Error) => {
            // The problem is recorded above; this adds fast-check's counterexample and seed.
            problems.push(e.message.split('\n').slice(0, 3).join(' ').slice(0, 1_500));
          });
      }
    }
    const operations = Object.values(doc.paths).flatMap((ops) => Object.keys(ops));
    expect(operations.length).toBeGreaterThan(30);
    expect(exercised.size).toBe(operations.length);
    expect([...new Set(problems)]).toEqual([]);
  }, 180_000);
});
