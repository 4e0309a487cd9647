// Admin route for a chatbot's quota usage: one entry per window (day, month).
import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import type { Clock } from '../clock.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import { Usage } from './model.ts';
import { getUsage } from './service.ts';

export type UsageRouteDeps = { db: Database; clock: Clock };

export function usageRoutes(deps: UsageRouteDeps) {
  return new Elysia({ name: 'usage', prefix: '/api/v1/chatbots' }).get(
    '/:chatbotId/usage',
    ({ params }) => getUsage(deps.db, params.chatbotId, new Date(deps.clock.now())),
    {
      params: ChatbotParams,
      response: { 200: Usage, 401: ErrorResponse, 404: ErrorResponse },
      detail: {
        tags: ['chatbots'],
        summary: 'Quota usage of the current UTC day and month, with the effective limits',
      },
    },
  );
}
