// Admin routes for chatbots: thin handlers over the chatbot service.

import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import type { Clock } from '../clock.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import { effectiveLimits } from '../quotas/service.ts';
import {
  type Chatbot,
  ChatbotList,
  ChatbotView,
  CreateChatbotBody,
  QUOTA_LIMITS,
  UpdateChatbotBody,
} from './model.ts';
import {
  createChatbot,
  deleteChatbot,
  getChatbot,
  listChatbots,
  updateChatbot,
} from './service.ts';

/** The API view: the limits that apply (own or the plan's), so both are always int or null. */
function view(db: Database, chatbot: Chatbot): ChatbotView {
  const limits = effectiveLimits(db, chatbot.id);
  return {
    ...chatbot,
    quota: {
      ...chatbot.quota,
      monthlyMessages: limits.monthlyMessages,
      dailyMessages: limits.dailyMessages,
      followsPlan: QUOTA_LIMITS.filter((limit) => chatbot.quota[limit] === undefined),
    },
  };
}

export type ChatbotRouteDeps = {
  db: Database;
  clock: Clock;
  /** Clean-ups outside the chatbot's SQLite rows (chunks, uploads, running jobs). */
  onChatbotDelete: readonly ((chatbotId: string) => Promise<void> | void)[];
  /** Work a change starts outside the chatbot's row (a new knowledge language re-indexes chunks). */
  onChatbotUpdate: readonly ((before: Chatbot, after: Chatbot) => void)[];
};

export function chatbotRoutes(deps: ChatbotRouteDeps) {
  const at = () => new Date(deps.clock.now());
  return new Elysia({ name: 'chatbots', prefix: '/api/v1/chatbots' })
    .post(
      '',
      ({ body, status }) => status(201, view(deps.db, createChatbot(deps.db, body, at()))),
      {
        body: CreateChatbotBody,
        response: { 201: ChatbotView, 401: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse },
        detail: { tags: ['chatbots'], summary: 'Create a chatbot' },
      },
    )
    .get('', () => ({ items: listChatbots(deps.db).map((c) => view(deps.db, c)) }), {
      response: { 200: ChatbotList, 401: ErrorResponse },
      detail: { tags: ['chatbots'], summary: 'List chatbots' },
    })
    .get('/:chatbotId', ({ params }) => view(deps.db, getChatbot(deps.db, params.chatbotId)), {
      params: ChatbotParams,
      response: { 200: ChatbotView, 401: ErrorResponse, 404: ErrorResponse },
      detail: { tags: ['chatbots'], summary: 'Read a chatbot' },
    })
    .patch(
      '/:chatbotId',
      ({ params, body }) => {
        const before = getChatbot(deps.db, params.chatbotId);
        const after = updateChatbot(deps.db, params.chatbotId, body, at());
        for (const hook of deps.onChatbotUpdate) hook(before, after);
        return view(deps.db, after);
      },
      {
        params: ChatbotParams,
        body: UpdateChatbotBody,
        response: {
          200: ChatbotView,
          401: ErrorResponse,
          404: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
        },
        detail: { tags: ['chatbots'], summary: 'Update a chatbot (only the fields given change)' },
      },
    )
    .delete(
      '/:chatbotId',
      async ({ params, set }) => {
        await deleteChatbot(deps.db, params.chatbotId, deps.onChatbotDelete);
        set.status = 204;
      },
      {
        params: ChatbotParams,
        response: { 401: ErrorResponse, 404: ErrorResponse },
        detail: {
          tags: ['chatbots'],
          summary: 'Delete a chatbot with its sources, chunks, conversations and credentials',
        },
      },
    );
}
