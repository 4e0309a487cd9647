// Conversation routes: the Crisp conversations of a chatbot (paged), one with its messages, and
// taking one away from the bot or handing it back.
import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import { getChatbot } from '../chatbots/service.ts';
import type { Clock } from '../clock.ts';
import { notFound } from '../errors.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams, SessionParams } from '../http/params.ts';
import {
  CONVERSATIONS_PAGE_MAX,
  type Conversation,
  ConversationDetail,
  ConversationList,
  ConversationListQuery,
  ConversationSummary,
  PauseBody,
} from './model.ts';
import {
  botStateOf,
  findConversationByExternalId,
  getConversationWithMessages,
  hoursFrom,
  listConversations,
  mute,
  unmute,
} from './service.ts';

export type ConversationRouteDeps = {
  db: Database;
  clock: Clock;
  /** Run when an admin pauses a conversation (the Crisp feature stops a reply being written). */
  onConversationPause: ((chatbotId: string, sessionId: string) => void)[];
};

const summary = (conversation: Conversation, now: Date): ConversationSummary => ({
  sessionId: conversation.externalId,
  websiteId: conversation.websiteId,
  bot: botStateOf(conversation, now),
  historySince: conversation.historySince,
  createdAt: conversation.createdAt,
  updatedAt: conversation.updatedAt,
});

const responses = { 401: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse };

export function conversationRoutes(deps: ConversationRouteDeps) {
  const at = () => new Date(deps.clock.now());
  /** The Crisp conversation of `sessionId`; 404 for an unknown chatbot or session. */
  const crispSession = (chatbotId: string, sessionId: string) => {
    getChatbot(deps.db, chatbotId);
    const conversation = findConversationByExternalId(deps.db, chatbotId, 'crisp', sessionId);
    if (!conversation) throw notFound('Conversation');
    return conversation;
  };

  return new Elysia({ name: 'conversations', prefix: '/api/v1/chatbots' })
    .get(
      '/:chatbotId/conversations',
      ({ params, query }) => {
        getChatbot(deps.db, params.chatbotId);
        const page = listConversations(deps.db, params.chatbotId, {
          channel: 'crisp',
          limit: query.limit ?? CONVERSATIONS_PAGE_MAX,
          ...(query.cursor ? { cursor: query.cursor } : {}),
        });
        const now = at();
        return { items: page.items.map((c) => summary(c, now)), nextCursor: page.nextCursor };
      },
      {
        params: ChatbotParams,
        query: ConversationListQuery,
        response: { 200: ConversationList, ...responses },
        detail: {
          tags: ['conversations'],
          summary:
            'Crisp conversations, most recent first, with who owns each (`limit`, `cursor` = the last page’s `nextCursor`)',
        },
      },
    )
    .get(
      '/:chatbotId/conversations/:sessionId',
      ({ params }) => {
        const conversation = crispSession(params.chatbotId, params.sessionId);
        const full = getConversationWithMessages(deps.db, conversation.id)!;
        return {
          ...summary(full, at()),
          messages: full.messages.map(({ conversationId: _c, ...m }) => m),
        };
      },
      {
        params: SessionParams,
        response: { 200: ConversationDetail, 401: ErrorResponse, 404: ErrorResponse },
        detail: {
          tags: ['conversations'],
          summary:
            'A Crisp conversation: messages with roles and provenance, bot or human and until when',
        },
      },
    )
    .post(
      '/:chatbotId/conversations/:sessionId/pause',
      ({ params, body }) => {
        const conversation = crispSession(params.chatbotId, params.sessionId);
        const now = at();
        mute(deps.db, conversation.id, body?.hours ? hoursFrom(now, body.hours) : null, now);
        // Taking it away also stops a reply being written now or waiting for its window.
        for (const hook of deps.onConversationPause) hook(params.chatbotId, params.sessionId);
        return summary(crispSession(params.chatbotId, params.sessionId), now);
      },
      {
        params: SessionParams,
        body: PauseBody,
        response: { 200: ConversationSummary, ...responses },
        detail: {
          tags: ['conversations'],
          summary: 'Take the conversation away from the bot (optionally for `hours`)',
        },
      },
    )
    .post(
      '/:chatbotId/conversations/:sessionId/resume',
      ({ params }) => {
        const conversation = crispSession(params.chatbotId, params.sessionId);
        const now = at();
        unmute(deps.db, conversation.id, { restartHistory: false }, now);
        return summary(crispSession(params.chatbotId, params.sessionId), now);
      },
      {
        params: SessionParams,
        response: { 200: ConversationSummary, 401: ErrorResponse, 404: ErrorResponse },
        detail: { tags: ['conversations'], summary: 'Hand the conversation back to the bot' },
      },
    );
}
