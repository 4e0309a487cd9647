// API docs: Swagger UI with its assets embedded in the binary, and the OpenAPI 3.1 document.
import { openapi } from '@elysiajs/openapi';
import { toJsonSchema } from '@valibot/to-json-schema';
import { Elysia } from 'elysia';
import swaggerCss from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' };
// Embedded as files so /docs renders with no internet (STACK.md §7).
import swaggerBundle from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' };
import type { GenericSchema } from 'valibot';

const asset = (path: string, type: string) => () =>
  new Response(Bun.file(path), {
    headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' },
  });

export function docs(version: string) {
  return new Elysia({ name: 'docs' })
    .get(
      '/docs/assets/swagger-ui-bundle.js',
      asset(swaggerBundle, 'text/javascript; charset=utf-8'),
      {
        detail: { hide: true },
      },
    )
    .get('/docs/assets/swagger-ui.css', asset(swaggerCss, 'text/css; charset=utf-8'), {
      detail: { hide: true },
    })
    .use(
      openapi({
        path: '/docs',
        specPath: '/docs/json',
        provider: 'swagger-ui',
        swagger: {
          cdn: '/docs/assets/swagger-ui-bundle.js',
          theme: '/docs/assets/swagger-ui.css',
          // The default validator badge calls an outside host.
          validatorUrl: null,
          persistAuthorization: true,
        } as never,
        mapJsonSchema: {
          valibot: (schema: GenericSchema) =>
            toJsonSchema(schema, {
              target: 'draft-2020-12',
              typeMode: 'input',
              errorMode: 'ignore',
            }),
        },
        exclude: { paths: [/^\/docs/] },
        documentation: {
          info: {
            title: 'answerdesk',
            version,
            description:
              'Self-hosted AI agent for the Crisp live chat. Admin routes under /api/v1 need the ' +
              'admin token: press "Authorize" and paste it (see DATA_DIR/admin-token).',
          },
          components: {
            securitySchemes: {
              bearerAuth: { type: 'http', scheme: 'bearer', description: 'The admin token' },
            },
          },
          security: [{ bearerAuth: [] }],
        },
      }),
    );
}
