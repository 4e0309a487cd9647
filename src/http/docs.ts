// API docs: Swagger UI with its assets embedded in the binary, and the OpenAPI 3.1 document.
import { openapi, toOpenAPISchema } from '@elysiajs/openapi';
import { toJsonSchema } from '@valibot/to-json-schema';
import { type AnyElysia, Elysia } from 'elysia';
import swaggerCss from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' };
// Embedded as files so /docs renders with no internet (docs/notes/stack.md §7).
import swaggerBundle from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' };
import type { GenericSchema } from 'valibot';
import { isPublicPath } from './auth.ts';
import { ownParsers } from './body.ts';
import { OPERATION_DOCS, PARAMETER_DOCS } from './examples.ts';
import { ErrorResponse } from './model.ts';

const asset = (path: string, type: string) => () =>
  new Response(Bun.file(path), {
    headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' },
  });

const toSchema = (schema: GenericSchema) =>
  toJsonSchema(schema, { target: 'draft-2020-12', typeMode: 'input', errorMode: 'ignore' });

// Without this mapping valibot schemas silently vanish from the document (docs/notes/stack.md §7).
const mapJsonSchema = { valibot: toSchema };

type Json = Record<string, unknown>;
type Media = { schema?: Json; example?: unknown; examples?: unknown };
type Operation = {
  security?: unknown[];
  description?: string;
  requestBody?: { required?: boolean; content: Record<string, Media> };
  parameters?: { name: string; in: string; description?: string; example?: unknown }[];
  responses?: Record<string, { description?: string; content?: Record<string, unknown> }>;
  [key: string]: unknown;
};
type RouteView = { method: string; path: string; hooks: Json & { parse?: unknown } };

const errorRef = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } },
});

const toTemplate = (path: string) => path.replace(/:([^/]+)/g, '{$1}');

/** The media types a route's body may come in: its own parser's, else the default JSON. */
function acceptsOf(route: RouteView, defaultParser: unknown): readonly string[] {
  for (const fn of ownParsers(route, defaultParser)) {
    const accepts = (fn as { accepts?: readonly string[] }).accepts;
    if (accepts) return accepts;
  }
  return ['application/json'];
}

const isBinary = (schema: unknown) => (schema as Json | undefined)?.format === 'binary';

/**
 * The multipart form as Swagger UI can render it (a field per property, a file picker for the
 * binary one): the body's variant that has a binary field, without its constant tag, which the
 * route's parse hook sets itself. Swagger UI fills each text field with a sample drawn from its
 * schema ("string") and sends it; an empty example leaves the optional fields empty, so unsent.
 */
function formSchema(schema: Json): Json {
  const variants = (schema.oneOf ?? schema.anyOf ?? [schema]) as Json[];
  const variant = variants.find((v) => Object.values((v.properties ?? {}) as Json).some(isBinary));
  if (!variant) return schema;
  const fields = Object.entries(variant.properties as Record<string, Json>).filter(
    ([, field]) => !('const' in field),
  );
  const required = (variant.required ?? []) as string[];
  return {
    type: 'object',
    properties: Object.fromEntries(
      fields.map(([name, field]) => [
        name,
        // OpenAPI 3.1 names a file by its media type; Swagger UI also reads `format: binary`.
        isBinary(field)
          ? { ...field, contentMediaType: 'application/octet-stream' }
          : { ...field, examples: [''] },
      ]),
    ),
    required: required.filter((name) => fields.some(([field]) => field === name)),
  };
}

/** A JSON body's schema without the variants that need a file: JSON cannot carry one. */
function jsonSchema(schema: Json): Json {
  const variants = schema.oneOf as Json[] | undefined;
  const hasFile = (v: Json) => Object.values((v.properties ?? {}) as Json).some(isBinary);
  const kept = variants?.filter((v) => !hasFile(v));
  return kept?.length && kept.length < (variants?.length ?? 0)
    ? { ...schema, oneOf: kept }
    : schema;
}

/** Adds examples, parameter docs and extra media types (src/http/examples.ts) to an operation. */
function documentOperation(key: string, operation: Operation): void {
  for (const parameter of operation.parameters ?? []) {
    const known = parameter.in === 'path' ? PARAMETER_DOCS[parameter.name] : undefined;
    parameter.description ??= known?.description;
    if (known?.example) parameter.example = known.example;
  }
  const docs = OPERATION_DOCS[key];
  for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
    if (type === 'multipart/form-data' && media.schema) {
      media.schema = formSchema(media.schema);
      continue;
    }
    if (media.schema) media.schema = jsonSchema(media.schema);
    if (docs?.examples) media.examples = docs.examples;
    else if (docs?.example !== undefined) media.example = docs.example;
  }
  if (!docs) return;
  if (docs.description) {
    operation.description = [operation.description, docs.description].filter(Boolean).join('\n\n');
  }
  if (docs.parameters) operation.parameters = [...(operation.parameters ?? []), ...docs.parameters];
  for (const [status, content] of Object.entries(docs.responses ?? {})) {
    const response = operation.responses?.[status];
    if (response) response.content = { ...response.content, ...content };
  }
}

/**
 * Builds the OpenAPI document from the app's routes with the plugin's generator, then states
 * what the generator cannot know: which content types each body takes (our parse hooks are
 * functions, which it skips), which routes are public (`security: []`, from the same
 * `isPublicPath` the auth check uses), and the error answers every route can give.
 */
function buildOpenApiDocument(
  routes: readonly RouteView[],
  definitions: unknown,
  info: { title: string; version: string; description: string },
): Json {
  const defaultParser = routes
    .flatMap((r) => (Array.isArray(r.hooks.parse) ? r.hooks.parse : []))
    .find((h: { scope?: string }) => h.scope === 'global')?.fn;
  const view = {
    getGlobalRoutes: () =>
      routes.map((r) => ({
        ...r,
        // The generator lists one content type per string parser.
        hooks: { ...r.hooks, parse: acceptsOf(r, defaultParser).map((fn) => ({ fn })) },
      })),
    getGlobalDefinitions: () => definitions,
  };
  const generated = toOpenAPISchema(
    view as unknown as AnyElysia,
    { paths: [/^\/docs/] },
    undefined,
    mapJsonSchema as never,
    '3.1.2',
  ) as { paths: Record<string, Record<string, Operation>>; components: { schemas: Json } };

  const paths: Record<string, Record<string, Operation>> = {
    '/docs': {
      get: {
        tags: ['docs'],
        summary: 'This Swagger UI (assets embedded, works offline)',
        operationId: 'getDocs',
        responses: { 200: { description: 'HTML page', content: { 'text/html': {} } } },
      },
    },
    '/docs/json': {
      get: {
        tags: ['docs'],
        summary: 'The OpenAPI 3.1 document',
        operationId: 'getDocsJson',
        responses: {
          200: { description: 'OpenAPI document', content: { 'application/json': {} } },
        },
      },
    },
    ...generated.paths,
  };
  // Routes that read their body themselves (rawBody) have no schema: still say what they take.
  for (const route of routes) {
    const own = ownParsers(route, defaultParser).find(
      (fn) => (fn as { accepts?: readonly string[] }).accepts,
    ) as { accepts: readonly string[] } | undefined;
    const operation = paths[toTemplate(route.path)]?.[route.method.toLowerCase()];
    if (!own || !operation || operation.requestBody) continue;
    operation.requestBody = {
      required: true,
      content: Object.fromEntries(own.accepts.map((type) => [type, { schema: {} }])),
    };
  }
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      documentOperation(`${method.toUpperCase()} ${path}`, operation);
      operation.responses ??= {};
      const responses = operation.responses;
      if (!isPublicPath(path)) {
        operation.security = [{ bearerAuth: [] }];
        responses[401] ??= errorRef('Missing or invalid admin token');
      } else {
        operation.security = [];
      }
      if (operation.requestBody) {
        responses[400] ??= errorRef('Malformed body');
        responses[413] ??= errorRef('Body larger than the limit');
        responses[415] ??= errorRef('Unsupported Content-Type');
      }
      if (operation.requestBody || operation.parameters?.length) {
        responses[422] ??= errorRef('Validation failed (names the fields, never their values)');
      }
      if (Object.keys(responses).every((status) => Number(status) >= 400)) {
        if (method === 'delete') responses[204] = { description: 'Deleted' };
        else responses[200] = { description: 'OK' };
      }
    }
  }
  return {
    openapi: '3.1.2',
    info,
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'chatbots', description: 'Chatbots and their settings' },
      { name: 'knowledge', description: 'Knowledge sources, search and re-embedding' },
      { name: 'chat', description: 'The playground: ask a chatbot like a visitor would' },
      { name: 'tests', description: 'Answer tests: golden questions run through the pipeline' },
      { name: 'conversations', description: 'Conversations, their messages and bot state' },
      { name: 'crisp', description: 'The Crisp integration: connect, status, test' },
      { name: 'plans', description: 'Named quota plans that chatbots follow' },
      { name: 'insights', description: 'What the bot could not answer, and outcomes over time' },
      { name: 'health', description: 'Liveness, readiness and metrics' },
      { name: 'docs', description: 'This documentation' },
      { name: 'dashboard', description: "The support lead's dashboard (a page for browsers)" },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'The admin token (DATA_DIR/admin-token, or ADMIN_TOKEN)',
        },
      },
      schemas: { ...generated.components.schemas, ErrorResponse: toSchema(ErrorResponse) },
    },
  };
}

export function docs(version: string) {
  const info = {
    title: 'answerdesk',
    version,
    // No double quotes: the plugin writes this into an HTML attribute unescaped.
    description:
      'Self-hosted AI agent for the Crisp live chat. Admin routes under /api/v1 need the admin ' +
      'token: press Authorize and paste it (from DATA_DIR/admin-token, or ADMIN_TOKEN).',
  };
  let cached: { routes: number; document: Json } | undefined;
  const plugin = new Elysia({ name: 'docs' });
  return (
    plugin
      .get(
        '/docs/assets/swagger-ui-bundle.js',
        asset(swaggerBundle, 'text/javascript; charset=utf-8'),
        { detail: { hide: true } },
      )
      .get('/docs/assets/swagger-ui.css', asset(swaggerCss, 'text/css; charset=utf-8'), {
        detail: { hide: true },
      })
      // The plugin renders the Swagger UI page; the document itself is ours (next route).
      .use(
        openapi({
          path: '/docs',
          specPath: '/docs/json',
          provider: 'swagger-ui',
          swagger: {
            url: '/docs/json',
            cdn: '/docs/assets/swagger-ui-bundle.js',
            theme: '/docs/assets/swagger-ui.css',
            // The default validator badge calls an outside host.
            validatorUrl: null,
            persistAuthorization: true,
          } as never,
          mapJsonSchema,
          documentation: { info },
        }),
      )
      // Registered after the plugin's own spec route, so this one answers /docs/json.
      .get(
        '/docs/json',
        () => {
          // Once mounted, the plugin instance sees the whole app's routes (protected API).
          const tree = plugin as unknown as {
            getGlobalRoutes: () => RouteView[];
            getGlobalDefinitions?: () => { type: unknown };
          };
          const routes = tree.getGlobalRoutes();
          if (cached?.routes !== routes.length) {
            const document = buildOpenApiDocument(routes, tree.getGlobalDefinitions?.().type, info);
            cached = { routes: routes.length, document };
          }
          return cached.document;
        },
        { detail: { hide: true } },
      )
  );
}
