// Analytics route: a chatbot's outcomes over a period, per day or week, per channel.
import { Elysia } from 'elysia';
import type { Clock } from '../clock.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import { resolveRange } from '../http/time-range.ts';
import { AnalyticsQuery, AnalyticsReport } from './model.ts';
import { type AnalyticsDeps, analyticsReport } from './service.ts';

export type AnalyticsRouteDeps = AnalyticsDeps & { clock: Clock };

export function analyticsRoutes(deps: AnalyticsRouteDeps) {
  return new Elysia({ name: 'analytics', prefix: '/api/v1/chatbots' }).get(
    '/:chatbotId/analytics',
    ({ params, query }) =>
      analyticsReport(deps, params.chatbotId, {
        ...resolveRange(query, new Date(deps.clock.now())),
        interval: query.interval ?? 'day',
        channel: query.channel ?? null,
      }),
    {
      params: ChatbotParams,
      query: AnalyticsQuery,
      response: {
        200: AnalyticsReport,
        401: ErrorResponse,
        404: ErrorResponse,
        422: ErrorResponse,
      },
      detail: {
        tags: ['insights'],
        summary:
          'Outcomes over a period (`from`, `to`: ISO 8601, default the last 30 days, at most 366), per `interval` (day, or week from Monday, UTC), split by channel (`channel` keeps one)',
      },
    },
  );
}
