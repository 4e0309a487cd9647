// The OpenAPI document and the Swagger UI page: complete, public, offline.
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

type Operation = {
  security?: unknown[];
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  parameters?: { name: string; in: string }[];
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
};

let t: TestApp;
let doc: Document;
beforeAll(async () => {
  t = await buildTestApp();
  const res = await t.request('/docs/json', { auth: false });
  expect(res.status).toBe(200);
  doc = await res.json();
});
afterAll(() => t.close());

const toTemplate = (path: string) => path.replace(/:([^/]+)/g, '{$1}');

describe('docs (OpenAPI document)', () => {
  it('should be OpenAPI 3.1 with the bearer scheme', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
  });

  it('should list every route of the app, with {param} path templates', () => {
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const routes = t.app.routes.filter(
      (r) =>
        !r.path.startsWith('/docs/assets') &&
        !r.path.startsWith('/dashboard/assets') &&
        r.method !== 'OPTIONS',
    );
    expect(routes.length).toBeGreaterThan(5);
    for (const r of routes) expect(documented).toContain(`${r.method} ${toTemplate(r.path)}`);
    for (const path of Object.keys(doc.paths)) expect(path).not.toContain(':');
    expect(doc.paths['/api/v1/chatbots/{chatbotId}']?.get?.parameters).toContainEqual(
      expect.objectContaining({ name: 'chatbotId', in: 'path' }),
    );
  });

  it('should mark public routes security: [] and admin routes with the bearer token', () => {
    // Written out, not derived from the auth module: a route made public by mistake fails here.
    const publicPaths = new Set([
      '/healthz',
      '/readyz',
      '/docs',
      '/docs/json',
      '/dashboard',
      '/api/integrations/livechat/crisp/webhook/{chatbotId}',
    ]);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        if (!publicPaths.has(path)) {
          expect(op.security).toEqual([{ bearerAuth: [] }]);
          expect(op.responses?.['401']).toBeDefined();
        } else {
          expect(op.security).toEqual([]);
        }
      }
    }
    for (const path of ['/healthz', '/readyz', '/docs', '/docs/json']) {
      expect(doc.paths[path]?.get?.security).toEqual([]);
    }
    expect(doc.paths['/metrics']?.get?.security).toEqual([{ bearerAuth: [] }]);
  });

  it('should describe every tag an operation uses', () => {
    const declared = new Set(
      (doc as unknown as { tags: { name: string }[] }).tags.map((g) => g.name),
    );
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops) as { tags?: string[] }[]) {
        for (const tag of op.tags ?? []) expect(declared).toContain(tag);
      }
    }
  });

  it('should carry request and response schemas for the chatbot routes', () => {
    const create = doc.paths['/api/v1/chatbots']?.post;
    expect(Object.keys(create?.requestBody?.content ?? {})).toEqual(['application/json']);
    const schema = create?.requestBody?.content['application/json']?.schema as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(schema.properties.name).toBeDefined();
    expect(schema.required).toContain('name');
    const created = create?.responses?.['201']?.content?.['application/json']?.schema as {
      properties: Record<string, unknown>;
    };
    expect(created.properties.id).toBeDefined();
    for (const status of ['400', '401', '413', '415', '422']) {
      expect(create?.responses?.[status]).toBeDefined();
    }
    const list = doc.paths['/api/v1/chatbots']?.get?.responses?.['200']?.content?.[
      'application/json'
    ]?.schema as { properties: Record<string, unknown> };
    expect(list.properties.items).toBeDefined();
    expect(doc.paths['/api/v1/chatbots/{chatbotId}']?.patch?.requestBody).toBeDefined();
  });

  it('should describe the body of a route that reads it raw (the Crisp webhook)', () => {
    const webhook = doc.paths['/api/integrations/livechat/crisp/webhook/{chatbotId}']?.post;
    expect(webhook?.security).toEqual([]);
    expect(Object.keys(webhook?.requestBody?.content ?? {})).toContain('application/json');
    expect(webhook?.responses?.['413']).toBeDefined();
  });
});

describe('docs (Swagger UI page)', () => {
  it('should load only local assets and point at /docs/json', async () => {
    const res = await t.request('/docs', { auth: false });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain('src="/docs/assets/swagger-ui-bundle.js"');
    expect(html).toContain('href="/docs/assets/swagger-ui.css"');
    expect(html).toContain('"url":"/docs/json"');
    expect(html).toContain('"validatorUrl":null');
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
      const a = await t.request(`/docs/assets/${asset}`, { auth: false });
      expect(a.status).toBe(200);
      expect((await a.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
  });
});
