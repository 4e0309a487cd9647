// Admin route for a chatbot's quota usage: one entry per window (day, month).
import { Elysia } from 'elysia';
import type { AppDeps } from '../app.ts';
import { ErrorResponse } from '../http/model.ts';
import { Usage, UsageParams } from './model.ts';
import { getUsage } from './service.ts';

export function usageRoutes(deps: AppDeps) {
  return new Elysia({ name: 'usage', prefix: '/api/v1/chatbots' }).get(
    '/:chatbotId/usage',
    ({ params }) => getUsage(deps.db, params.chatbotId, deps.now?.()),
    {
      params: UsageParams,
      response: { 200: Usage, 401: ErrorResponse, 404: ErrorResponse },
      detail: {
        tags: ['chatbots'],
        summary: 'Quota usage of the current UTC day and month, with the effective limits',
      },
    },
  );
}
