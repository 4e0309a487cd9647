// createApp(deps): the whole HTTP surface, assembled from feature plugins. Tests use it directly.
// Each feature takes the deps it declares; `AppDeps` (src/deps.ts) has them all.
import { Elysia } from 'elysia';
import { analyticsRoutes } from './analytics/index.ts';
import { answerTestRoutes } from './answer-tests/index.ts';
import { answerRoutes } from './answers/index.ts';
import { chatbotRoutes } from './chatbots/index.ts';
import { conversationRoutes } from './conversations/index.ts';
import { crispRoutes } from './crisp/index.ts';
import { dashboardRoutes } from './dashboard/index.ts';
import type { AppDeps } from './deps.ts';
import { AppError } from './errors.ts';
import { isAdmin, isPublicPath } from './http/auth.ts';
import { defaultBodyParser, MULTIPART_OVERHEAD_BYTES } from './http/body.ts';
import { docs } from './http/docs.ts';
import { errorHandler } from './http/error-handler.ts';
import { healthRoutes } from './http/health.ts';
import { requestContext } from './http/request-context.ts';
import { insightsRoutes } from './insights/index.ts';
import { knowledgeRoutes } from './knowledge/index.ts';
import { planRoutes } from './plans/index.ts';
import { usageRoutes } from './quotas/index.ts';
import { sourceRoutes } from './sources/index.ts';
import { VERSION } from './version.ts';

export function createApp(deps: AppDeps) {
  // The largest body any route may take; anything declaring more is refused before routing. An
  // upload of exactly UPLOAD_LIMIT_BYTES arrives with its multipart framing on top.
  const maxBodyBytes = Math.max(
    deps.config.BODY_LIMIT_BYTES,
    deps.config.UPLOAD_LIMIT_BYTES + MULTIPART_OVERHEAD_BYTES,
  );
  let routes: () => readonly { method: string; path: string; hooks: { parse?: unknown } }[] =
    () => [];
  const app = new Elysia({ name: 'answerdesk' })
    .use(requestContext(deps))
    // A write the disk refused in any request shows in /readyz at once; the answer itself is
    // the error handler's (this hook returns nothing, so it runs next).
    .onError({ as: 'global' }, ({ error }) => {
      deps.storage.report(error);
    })
    .use(errorHandler(deps))
    // Authentication runs first, before parsing and validation, so an anonymous caller learns
    // nothing about the body it sent.
    // `path` is the one the router computed from the URL and will route on: deciding on another
    // parse of the URL (e.g. `new URL().pathname`) once let `Host: x` + `/zz/api/v1/…` through.
    .onRequest((ctx) => {
      const { request } = ctx;
      // Elysia sets `path` on the context before this hook; its types omit it. Missing → denied.
      const path = (ctx as { path?: unknown }).path;
      if (
        !(typeof path === 'string' && isPublicPath(path)) &&
        !isAdmin(request.headers.get('authorization'), deps.config.ADMIN_TOKEN)
      ) {
        throw new AppError(
          'UNAUTHORIZED',
          'Missing or invalid admin token (Authorization: Bearer …)',
        );
      }
      const declared = request.headers.get('content-length');
      if (declared && Number(declared) > maxBodyBytes) {
        throw new AppError(
          'PAYLOAD_TOO_LARGE',
          `The request body is larger than ${maxBodyBytes} bytes`,
        );
      }
    })
    // Every body is parsed by us within a limit (JSON, BODY_LIMIT_BYTES); a route that needs
    // another limit, multipart or the raw bytes declares its own `parse` (src/http/body.ts).
    .onParse(
      { as: 'global' },
      defaultBodyParser(deps.config.BODY_LIMIT_BYTES, () => routes()),
    )
    .use(docs(VERSION))
    .use(dashboardRoutes())
    .use(healthRoutes(deps))
    .use(chatbotRoutes(deps))
    .use(planRoutes(deps))
    .use(usageRoutes(deps))
    .use(sourceRoutes(deps))
    .use(knowledgeRoutes(deps))
    .use(answerRoutes(deps))
    .use(answerTestRoutes(deps))
    .use(conversationRoutes(deps))
    .use(crispRoutes(deps))
    .use(insightsRoutes(deps))
    .use(analyticsRoutes(deps));
  routes = () => app.routes;
  return app;
}

export type App = ReturnType<typeof createApp>;
