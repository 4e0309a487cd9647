// Admin routes for chatbots: thin handlers over the chatbot service.
import { Elysia } from 'elysia';
import type { AppDeps } from '../app.ts';
import { ErrorResponse } from '../http/model.ts';
import {
  Chatbot,
  ChatbotList,
  ChatbotParams,
  CreateChatbotBody,
  UpdateChatbotBody,
} from './model.ts';
import {
  createChatbot,
  deleteChatbot,
  getChatbot,
  listChatbots,
  updateChatbot,
} from './service.ts';

export function chatbotRoutes(deps: AppDeps) {
  return new Elysia({ name: 'chatbots', prefix: '/api/v1/chatbots' })
    .post(
      '',
      ({ body, set }) => {
        set.status = 201;
        return createChatbot(deps.db, body);
      },
      {
        body: CreateChatbotBody,
        response: { 201: Chatbot, 401: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse },
        detail: { tags: ['chatbots'], summary: 'Create a chatbot' },
      },
    )
    .get('', () => ({ items: listChatbots(deps.db) }), {
      response: { 200: ChatbotList, 401: ErrorResponse },
      detail: { tags: ['chatbots'], summary: 'List chatbots' },
    })
    .get('/:chatbotId', ({ params }) => getChatbot(deps.db, params.chatbotId), {
      params: ChatbotParams,
      response: { 200: Chatbot, 401: ErrorResponse, 404: ErrorResponse },
      detail: { tags: ['chatbots'], summary: 'Read a chatbot' },
    })
    .patch('/:chatbotId', ({ params, body }) => updateChatbot(deps.db, params.chatbotId, body), {
      params: ChatbotParams,
      body: UpdateChatbotBody,
      response: {
        200: Chatbot,
        401: ErrorResponse,
        404: ErrorResponse,
        409: ErrorResponse,
        422: ErrorResponse,
      },
      detail: { tags: ['chatbots'], summary: 'Update a chatbot (only the fields given change)' },
    })
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
