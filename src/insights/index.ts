// Insights routes: the questions the bot could not answer (grouped) and the answers it gave on weak
// retrieval; a group becomes a Q&A source, or is dismissed.
import { Elysia } from 'elysia';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import { resolveRange } from '../http/time-range.ts';
import { Source } from '../sources/model.ts';
import { TEXT_SCORE_MIN, VECTOR_SCORE_MIN } from './low-confidence.ts';
import { GroupParams, GroupQaBody, UnansweredQuery, UnansweredReport } from './model.ts';
import { dismissGroup, type InsightsDeps, resolveWithQa, unansweredReport } from './service.ts';

export type InsightsRouteDeps = InsightsDeps;

const detail = (summary: string) => ({ tags: ['insights'], summary });

export function insightsRoutes(deps: InsightsRouteDeps) {
  return new Elysia({ name: 'insights', prefix: '/api/v1/chatbots/:chatbotId/insights/unanswered' })
    .get(
      '',
      ({ params, query }) =>
        unansweredReport(deps, params.chatbotId, resolveRange(query, new Date(deps.clock.now())), {
          text: query.minTextScore ?? TEXT_SCORE_MIN,
          vector: query.minVectorScore ?? VECTOR_SCORE_MIN,
        }),
      {
        params: ChatbotParams,
        query: UnansweredQuery,
        response: {
          200: UnansweredReport,
          401: ErrorResponse,
          404: ErrorResponse,
          422: ErrorResponse,
        },
        detail: detail(
          'Questions handed off for lack of an answer, similar ones grouped, most frequent first; and answers given on a weak best passage (`from`, `to`: ISO 8601, default the last 30 days)',
        ),
      },
    )
    .post(
      '/:groupId/qa',
      async ({ params, body, status }) =>
        status(201, await resolveWithQa(deps, params.chatbotId, params.groupId, body)),
      {
        params: GroupParams,
        body: GroupQaBody,
        response: {
          201: Source,
          401: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
          503: ErrorResponse,
        },
        detail: detail(
          'Add a Q&A source from a group (`{}`: its representative question and suggested answer; or give `question`, `answer`) and mark it resolved',
        ),
      },
    )
    .delete(
      '/:groupId',
      ({ params, set }) => {
        dismissGroup(deps, params.chatbotId, params.groupId);
        set.status = 204;
      },
      {
        params: GroupParams,
        response: { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
        detail: detail('Dismiss a group: its questions leave the list'),
      },
    );
}
