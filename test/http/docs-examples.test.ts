// Swagger UI as a tool: every request body in /docs/json has an example, and every example works
// when executed as it is, in order, on a fresh install (the Crisp calls answered by the fake Crisp,
// which accepts the connect example's placeholders). A route added later without an example, or
// with one that fails, breaks this test rather than the first person who tries it.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { CONNECT_EXAMPLE, WEBHOOK_EXAMPLE } from '../../src/http/examples.ts';
import { ADMIN_TOKEN, buildTestApp, type TestApp } from '../helpers/app.ts';
import { type FakeCrisp, startFakeCrisp } from '../helpers/fake-crisp.ts';
import { type FakeGroq, startFakeGroq } from '../helpers/fake-groq.ts';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema> };
type Media = { schema?: Schema; example?: unknown; examples?: Record<string, { value: unknown }> };
type Parameter = { name: string; in: string; example?: unknown; schema?: Schema };
type Operation = {
  description?: string;
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
};

const WEBHOOK = 'POST /api/integrations/livechat/crisp/webhook/{chatbotId}';
/** Run first, in this order: they make what the others' path parameters name. */
const FIRST = [
  'POST /api/v1/plans',
  'POST /api/v1/chatbots',
  'PUT /api/v1/chatbots/{chatbotId}/integrations/crisp',
  WEBHOOK,
  'POST /api/v1/chatbots/{chatbotId}/sources',
];

/**
 * Operations whose path names something a fresh install cannot have: their example must still be
 * a valid body (the answer is the 404 of the missing thing, not a 400 or 422).
 */
const NEEDS_DATA: Record<string, string> = {
  'POST /api/v1/chatbots/{chatbotId}/insights/unanswered/{groupId}/qa':
    'a group exists only after a visitor question was handed off for lack of an answer',
};

let t: TestApp;
let groq: FakeGroq;
let crisp: FakeCrisp;
let operations: [string, Operation][];

beforeAll(async () => {
  groq = await startFakeGroq();
  // Crisp itself refuses the placeholders; the fake takes them, so connect can be run through.
  crisp = startFakeCrisp({
    tokens: [
      {
        identifier: CONNECT_EXAMPLE.tokenIdentifier,
        key: CONNECT_EXAMPLE.tokenKey,
        tier: 'plugin',
      },
    ],
    websites: [CONNECT_EXAMPLE.websiteId],
  });
  t = await buildTestApp({
    GROQ_BASE_URL: groq.baseUrl,
    GROQ_API_KEY: 'test-groq-key',
    CRISP_API_URL: crisp.url,
  });
  const doc = (await (await t.request('/docs/json', { auth: false })).json()) as {
    paths: Record<string, Record<string, Operation>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]): [string, Operation] => [
      `${method.toUpperCase()} ${path}`,
      op,
    ]),
  );
});
afterAll(async () => {
  await t.close();
  await groq.stop();
  await crisp.close();
});

const withBody = () => operations.filter(([, op]) => op.requestBody);
const operation = (key: string) => operations.find(([k]) => k === key)?.[1] as Operation;

/** The bodies a media type documents: each named example, or the one example. */
function examplesOf(media: Media): unknown[] {
  if (media.examples) return Object.values(media.examples).map((e) => e.value);
  return 'example' in media ? [media.example] : [];
}

const isFormType = (type: string) => type === 'multipart/form-data';

/** Every string in a value, keys excluded. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

describe('docs examples (every body has one)', () => {
  it('should give every JSON body an example, and every form field a file picker or an example', () => {
    expect(withBody().length).toBeGreaterThan(8);
    const missing: string[] = [];
    for (const [key, op] of withBody()) {
      for (const [type, media] of Object.entries(op.requestBody!.content)) {
        if (!isFormType(type)) {
          if (examplesOf(media).length === 0) missing.push(`${key} (${type})`);
          continue;
        }
        // Swagger UI fills a form field without an example with "string" and sends it.
        for (const [name, field] of Object.entries(media.schema?.properties ?? {})) {
          const filled = field.format === 'binary' || Array.isArray(field.examples);
          if (!filled) missing.push(`${key} (${type}) field ${name}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('should hold no placeholder that would become data, and change one field in a PATCH', () => {
    for (const [key, op] of withBody()) {
      for (const media of Object.values(op.requestBody!.content)) {
        for (const example of examplesOf(media)) {
          expect(stringsIn(example)).not.toContain('string');
          if (key.startsWith('PATCH ')) expect(Object.keys(example as object)).toHaveLength(1);
        }
      }
    }
    expect(
      operation('POST /api/v1/chatbots').requestBody?.content['application/json']?.example,
    ).toEqual({ name: 'Support bot' });
  });

  it('should offer the file upload as a form with a file picker, and JSON without a file', () => {
    const content = operation('POST /api/v1/chatbots/{chatbotId}/sources').requestBody!.content;
    const form = content['multipart/form-data']!.schema!;
    expect(form.type).toBe('object');
    expect(form.required).toEqual(['file']);
    expect(form.properties?.file).toMatchObject({
      type: 'string',
      format: 'binary',
      contentMediaType: 'application/octet-stream',
    });
    expect(Object.keys(form.properties ?? {})).not.toContain('type');
    const json = content['application/json']!;
    expect(Object.keys(json.examples ?? {})).toEqual(['text', 'qa', 'url', 'sitemap']);
    const variants = (json.schema?.oneOf ?? []) as Schema[];
    expect(variants.map((v) => v.properties?.type?.const)).toEqual([
      'text',
      'qa',
      'url',
      'sitemap',
    ]);
  });

  it('should document the playground answer as JSON and as an event stream', () => {
    const ok = operation('POST /api/v1/chatbots/{chatbotId}/chat').responses['200']!;
    expect(Object.keys(ok.content ?? {})).toEqual(['application/json', 'text/event-stream']);
    expect(ok.content?.['text/event-stream']?.example).toContain('event: done\n');
  });

  it('should document the webhook key, the signature headers and a message:send delivery', () => {
    const webhook = operation(WEBHOOK);
    expect(webhook.security).toEqual([]);
    const where = (webhook.parameters ?? []).map((p) => `${p.in}:${p.name}`);
    for (const p of ['path:chatbotId', 'query:key', 'header:X-Crisp-Signature']) {
      expect(where).toContain(p);
    }
    expect(where).toContain('header:X-Crisp-Request-Timestamp');
    const example = webhook.requestBody!.content['application/json']!.example as {
      event: string;
      data: Record<string, unknown>;
    };
    // Fields one by one: bun's toMatchObject writes an asymmetric matcher into what it checks.
    expect(example.event).toBe('message:send');
    expect([example.data.from, example.data.type]).toEqual(['user', 'text']);
    expect(example.data.session_id).toMatch(/^session_/);
  });
});

describe('docs examples (executed as they are)', () => {
  it('should answer 2xx to every example run in order on a fresh install (404 only where the path names data it cannot have yet)', async () => {
    const ids: Record<string, string> = {};
    const ordered = [
      ...FIRST.map((key) => [key, operation(key)] as [string, Operation]),
      ...withBody().filter(([key]) => !FIRST.includes(key)),
    ];
    const ran: string[] = [];
    for (const [key, op] of ordered) {
      const [method, template] = key.split(' ') as [string, string];
      const value = (p: Parameter) => (p.example as string | undefined) ?? ids[p.name];
      const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
        const p = op.parameters?.find((q) => q.in === 'path' && q.name === name);
        const found = p && (value(p) ?? (NEEDS_DATA[key] ? 'none_yet' : undefined));
        if (!found) throw new Error(`${key}: no value for {${name}} (give it an example)`);
        return encodeURIComponent(found);
      });
      const query = new URLSearchParams();
      for (const p of op.parameters ?? [])
        if (p.in === 'query' && ids[p.name]) query.set(p.name, ids[p.name]!);
      for (const [type, media] of Object.entries(op.requestBody!.content)) {
        const bodies = isFormType(type) ? [formOf(media.schema!)] : examplesOf(media);
        // The answer in each documented media type (Swagger UI sends the chosen one as Accept).
        const answers = Object.keys(op.responses['200']?.content ?? {});
        for (const [body, accept] of bodies.flatMap((b) =>
          (answers.length > 1 ? answers : ['application/json']).map((a) => [b, a] as const),
        )) {
          const res = await t.app.handle(
            new Request(`http://localhost${path}${query.size ? `?${query}` : ''}`, {
              method,
              headers: {
                authorization: `Bearer ${ADMIN_TOKEN}`,
                accept,
                ...(body instanceof FormData ? {} : { 'content-type': type }),
              },
              body: body instanceof FormData ? body : JSON.stringify(body),
            }),
          );
          const text = await res.text();
          if (NEEDS_DATA[key]) {
            expect(`${key} → ${res.status} ${JSON.parse(text).error.code}`).toBe(
              `${key} → 404 NOT_FOUND`,
            );
            continue;
          }
          if (res.status >= 300) throw new Error(`${key} (${type}) → ${res.status}: ${text}`);
          expect(res.headers.get('content-type') ?? '').toStartWith(accept);
          ran.push(
            `${key} ${type} ${res.status}${accept === 'application/json' ? '' : ` ${accept}`}`,
          );
          const answer = JSON.parse(text.startsWith('{') ? text : '{}');
          if (key === 'POST /api/v1/plans') ids.planId = answer.id;
          if (key === 'POST /api/v1/chatbots') ids.chatbotId = answer.id;
          // The refresh schedule applies to a page or a sitemap: the PATCH example names the page.
          if (answer.type === 'url') ids.sourceId = answer.id;
          if (key.startsWith('PUT ') && answer.webhookUrl) {
            ids.key = new URL(answer.webhookUrl).searchParams.get('key')!;
          }
        }
      }
      // The delivery's reply turn makes the conversation the next examples name.
      if (key === WEBHOOK) await t.deps.worker.drain();
    }
    expect(ran.length).toBeGreaterThanOrEqual(withBody().length);
    expect(ran).toContain('POST /api/v1/chatbots application/json 201');
    expect(ran).toContain(`${WEBHOOK} application/json 200`);
    expect(ran).toContain('POST /api/v1/chatbots/{chatbotId}/sources multipart/form-data 202');
    expect(ran).toContain(
      'POST /api/v1/chatbots/{chatbotId}/chat application/json 200 text/event-stream',
    );
    // The connect example went to Crisp (the fake) and the delivery reached the conversation.
    expect(crisp.callsTo('check').length).toBeGreaterThan(0);
    const session = WEBHOOK_EXAMPLE.data.session_id;
    const conversation = await t.request(
      `/api/v1/chatbots/${ids.chatbotId}/conversations/${session}`,
    );
    expect(conversation.status).toBe(200);
  }, 60_000);
});

/** The form as Swagger UI sends it: a small file, and every other field sent empty. */
function formOf(schema: Schema): FormData {
  const form = new FormData();
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    if (field.format === 'binary') {
      form.set(name, new File(['Refunds are paid back within 5 business days.'], 'refunds.txt'));
    } else form.set(name, String((field.examples as unknown[])[0] ?? ''));
  }
  return form;
}
