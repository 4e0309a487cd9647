// Crisp routes: connect/status/disconnect/test, the public webhook, and conversation admin.

import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import * as v from 'valibot';
import { type AnswerDeps, answerMessage } from '../answers/answer.ts';
import { findChatbot, getChatbot } from '../chatbots/service.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Conversation } from '../conversations/model.ts';
import {
  findConversationByExternalId,
  getConversationWithMessages,
  getOrCreateConversation,
  listConversations,
} from '../conversations/service.ts';
import { AppError, notFound } from '../errors.ts';
import { parseJsonText, rawBody, readBodyText } from '../http/body.ts';
import type { Metrics } from '../http/metrics.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams, SessionParams } from '../http/params.ts';
import type { Worker } from '../jobs/worker.ts';
import type { Logger } from '../logging.ts';
import { GroupCommit } from '../storage/sqlite/group-commit.ts';
import { botStateOf, hoursFrom, mute, unmute } from './bot-state.ts';
import type { CrispClient } from './client.ts';
import { type ConnectionStore, CRISP_EVENTS, webhookUrl } from './connections.ts';
import {
  ConnectBody,
  ConnectionStatusResponse,
  ConnectResponse,
  ConversationDetail,
  ConversationList,
  Envelope,
  PauseBody,
  TestBody,
  TestResponse,
} from './model.ts';
import { plannedPosts } from './turn.ts';
import { verifyDelivery } from './verify.ts';
import { handleEvent, MalformedEvent, REPLY_JOB, serialKeyOf } from './webhook.ts';

/** Crisp webhook deliveries larger than this are refused (413). */
export const WEBHOOK_BODY_LIMIT_BYTES = 1_048_576;

const SAMPLE_QUESTION = 'Hello! What can you help me with?';

function summary(conversation: Conversation, now: Date) {
  return {
    sessionId: conversation.externalId,
    websiteId: conversation.websiteId,
    bot: botStateOf(conversation, now),
    historySince: conversation.historySince,
    createdAt: conversation.createdAt,
    updatedAt: conversation.updatedAt,
  };
}

export type CrispRouteDeps = {
  config: Pick<Config, 'PUBLIC_URL' | 'CRISP_BURST_WINDOW_MS' | 'CRISP_SIGNATURE_MAX_AGE_SECONDS'>;
  log: Logger;
  clock: Clock;
  db: Database;
  metrics: Metrics;
  worker: Worker;
  crisp: CrispClient;
  connections: ConnectionStore;
  answers: AnswerDeps;
};

/** The Crisp feature's routes; its reply job is registered by `registerJobs` (src/deps.ts). */
export function crispRoutes(deps: CrispRouteDeps) {
  const { config, connections, crisp: client } = deps;
  const log = deps.log.child({ component: 'crisp' });
  const at = () => new Date(deps.clock.now());

  const commits = new GroupCommit(deps.db);
  const webhookDeps = {
    db: deps.db,
    worker: deps.worker,
    metrics: deps.metrics,
    log,
    burstWindowMs: config.CRISP_BURST_WINDOW_MS,
    clock: deps.clock,
  };

  const conversationOf = (chatbotId: string, sessionId: string) => {
    getChatbot(deps.db, chatbotId);
    const conversation = findConversationByExternalId(deps.db, chatbotId, 'crisp', sessionId);
    if (!conversation) throw notFound('Conversation');
    return conversation;
  };

  const admin = new Elysia({ name: 'crisp-admin', prefix: '/api/v1/chatbots' })
    .put(
      '/:chatbotId/integrations/crisp',
      async ({ params, body }) => {
        getChatbot(deps.db, params.chatbotId);
        const credentials = {
          websiteId: body.websiteId,
          identifier: body.tokenIdentifier,
          key: body.tokenKey,
          tier: body.tier,
        };
        const check = await client.checkCredentials(credentials);
        if (!check.ok) {
          const e = check.error;
          if (e.kind === 'rejected' || e.kind === 'not_found' || e.kind === 'bad_request') {
            throw new AppError(
              'CRISP_CREDENTIALS_REJECTED',
              `Crisp rejected the credentials: ${e.reason} (HTTP ${e.status}). Check the website id, the token and the tier (plugin or website).`,
              { context: { crispReason: e.reason, crispStatus: e.status } },
            );
          }
          throw new AppError(
            'UPSTREAM_FAILED',
            `Could not check the credentials with Crisp (${e.kind}: ${e.reason}); nothing was stored`,
          );
        }
        const connection = connections.save(
          params.chatbotId,
          { credentials, signingSecret: body.signingSecret },
          at(),
        );
        log.info(
          { chatbotId: params.chatbotId, websiteId: body.websiteId, tier: body.tier },
          'crisp connected',
        );
        return {
          connected: true as const,
          websiteId: connection.websiteId,
          webhookUrl: webhookUrl(config.PUBLIC_URL, params.chatbotId, connection.webhookSecret),
          events: CRISP_EVENTS,
          tier: connection.credentials.tier,
          signed: connection.signingSecret !== null,
        };
      },
      {
        params: ChatbotParams,
        body: ConnectBody,
        response: {
          200: ConnectResponse,
          400: ErrorResponse,
          401: ErrorResponse,
          404: ErrorResponse,
          422: ErrorResponse,
          502: ErrorResponse,
        },
        detail: {
          tags: ['crisp'],
          summary:
            'Connect Crisp: checks the credentials with Crisp, stores them encrypted, returns the webhook URL',
        },
      },
    )
    .get(
      '/:chatbotId/integrations/crisp',
      ({ params }) => {
        getChatbot(deps.db, params.chatbotId);
        return connections.status(params.chatbotId, config.PUBLIC_URL) ?? { connected: false };
      },
      {
        params: ChatbotParams,
        response: { 200: ConnectionStatusResponse, 401: ErrorResponse, 404: ErrorResponse },
        detail: {
          tags: ['crisp'],
          summary: 'Crisp connection status and health (secrets masked)',
        },
      },
    )
    .delete(
      '/:chatbotId/integrations/crisp',
      ({ params, set }) => {
        getChatbot(deps.db, params.chatbotId);
        connections.remove(params.chatbotId);
        deps.worker.abortRunningOf(REPLY_JOB, params.chatbotId, 'crisp was disconnected');
        log.info({ chatbotId: params.chatbotId }, 'crisp disconnected');
        set.status = 204;
      },
      {
        params: ChatbotParams,
        response: { 401: ErrorResponse, 404: ErrorResponse },
        detail: {
          tags: ['crisp'],
          summary: 'Disconnect Crisp: wipes the credentials (the webhook then answers 404)',
        },
      },
    )
    .post(
      '/:chatbotId/integrations/crisp/test',
      async ({ params, body }) => {
        const chatbot = getChatbot(deps.db, params.chatbotId);
        const connection = connections.get(params.chatbotId);
        if (!connection) throw new AppError('NOT_FOUND', 'Crisp is not connected for this chatbot');
        const check = await client.checkCredentials(connection.credentials);
        if (check.ok) connections.recordOk(chatbot.id, at());
        else connections.recordError(chatbot.id, check.error, at());
        const question = body?.message ?? SAMPLE_QUESTION;
        // A throwaway conversation: the dry run leaves no history and posts nothing.
        const conversation = getOrCreateConversation(
          deps.db,
          {
            chatbotId: chatbot.id,
            channel: 'playground',
            externalId: `crisp-test-${crypto.randomUUID()}`,
          },
          at(),
        );
        let result: Awaited<ReturnType<typeof answerMessage>>;
        try {
          result = await answerMessage(deps.answers, {
            chatbot,
            conversationId: conversation.id,
            message: question,
          });
        } finally {
          deps.db.query('DELETE FROM conversations WHERE id = ?').run(conversation.id);
        }
        const base = `/v1/website/${connection.websiteId}/conversation/{sessionId}`;
        const wouldPost: v.InferOutput<typeof TestResponse>['wouldPost'] = [];
        for (const post of plannedPosts(chatbot, question, result, false)) {
          if (post.kind === 'note') {
            wouldPost.push({
              kind: 'state',
              method: 'PATCH',
              path: `${base}/state`,
              body: { state: 'unresolved' },
            });
          }
          wouldPost.push({
            kind: post.kind,
            method: 'POST',
            path: `${base}/message`,
            body: post.body,
          });
        }
        return {
          credentials: check.ok
            ? { ok: true, status: 200, reason: null }
            : {
                ok: false,
                status: check.error.status,
                reason: `${check.error.kind}: ${check.error.reason}`,
              },
          question,
          answer: {
            reply: result.reply,
            handoff: result.handoff,
            reason: result.reason,
            sources: result.sources,
          },
          wouldPost,
        };
      },
      {
        params: ChatbotParams,
        body: TestBody,
        response: { 200: TestResponse, 401: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse },
        detail: {
          tags: ['crisp'],
          summary:
            'Dry run: a sample question through the whole pipeline plus a live credential check; posts nothing',
        },
      },
    )
    .get(
      '/:chatbotId/conversations',
      ({ params }) => {
        getChatbot(deps.db, params.chatbotId);
        const now = at();
        return {
          items: listConversations(deps.db, params.chatbotId, { limit: 1000 })
            .filter((c) => c.channel === 'crisp')
            .slice(0, 200)
            .map((c) => summary(c, now)),
        };
      },
      {
        params: ChatbotParams,
        response: { 200: ConversationList, 401: ErrorResponse, 404: ErrorResponse },
        detail: {
          tags: ['conversations'],
          summary: 'Crisp conversations, most recent first, with who owns each',
        },
      },
    )
    .get(
      '/:chatbotId/conversations/:sessionId',
      ({ params }) => {
        const conversation = conversationOf(params.chatbotId, params.sessionId);
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
        const conversation = conversationOf(params.chatbotId, params.sessionId);
        const now = at();
        mute(deps.db, conversation.id, body?.hours ? hoursFrom(now, body.hours) : null, now);
        // Taking it away also stops a reply being written now or waiting for its window.
        const key = serialKeyOf(params.chatbotId, params.sessionId);
        deps.worker.abortRunning(key, 'paused by an admin');
        return summary(conversationOf(params.chatbotId, params.sessionId), now);
      },
      {
        params: SessionParams,
        body: PauseBody,
        response: {
          200: ConversationList.entries.items.item,
          401: ErrorResponse,
          404: ErrorResponse,
          422: ErrorResponse,
        },
        detail: {
          tags: ['conversations'],
          summary: 'Take the conversation away from the bot (optionally for `hours`)',
        },
      },
    )
    .post(
      '/:chatbotId/conversations/:sessionId/resume',
      ({ params }) => {
        const conversation = conversationOf(params.chatbotId, params.sessionId);
        const now = at();
        unmute(deps.db, conversation.id, { restartHistory: false }, now);
        return summary(conversationOf(params.chatbotId, params.sessionId), now);
      },
      {
        params: SessionParams,
        response: {
          200: ConversationList.entries.items.item,
          401: ErrorResponse,
          404: ErrorResponse,
        },
        detail: { tags: ['conversations'], summary: 'Hand the conversation back to the bot' },
      },
    );

  const webhook = new Elysia({
    name: 'crisp-webhook',
    prefix: '/api/integrations/livechat/crisp',
  }).post(
    '/webhook/:chatbotId',
    async ({ params, request }) => {
      // Order of checks (docs/notes/contract.md): unknown or disconnected → 404, too large → 413, bad key or
      // signature → 401 with nothing recorded, not a Crisp delivery → 400.
      const connection = connections.get(params.chatbotId);
      const chatbot = connection ? findChatbot(deps.db, params.chatbotId) : undefined;
      if (!connection || !chatbot)
        throw new AppError('NOT_FOUND', 'No Crisp connection for this chatbot');
      const raw = await readBodyText(request, WEBHOOK_BODY_LIMIT_BYTES);
      const verified = verifyDelivery(
        {
          rawBody: raw,
          key: new URL(request.url).searchParams.get('key'),
          signature: request.headers.get('x-crisp-signature'),
          timestamp: request.headers.get('x-crisp-request-timestamp'),
        },
        { webhookSecret: connection.webhookSecret, signingSecret: connection.signingSecret },
        { maxAgeSeconds: config.CRISP_SIGNATURE_MAX_AGE_SECONDS, now: deps.clock.now() },
      );
      if (!verified.ok) {
        deps.metrics.inc('answerdesk_crisp_webhooks_total', 'Crisp webhook deliveries by result.', {
          event: 'unknown',
          action: `unauthorized_${verified.why}`,
        });
        throw new AppError('UNAUTHORIZED', 'Missing or invalid webhook key or signature');
      }
      const envelope = v.safeParse(Envelope, parseJsonText(raw));
      if (!envelope.success) {
        throw new AppError(
          'BAD_REQUEST',
          'Not a Crisp webhook delivery ({website_id, event, data})',
        );
      }
      let action: string;
      try {
        // Committed (in a group with the deliveries of this turn) before the 200.
        action = await commits.run(() =>
          handleEvent(webhookDeps, connection, chatbot, envelope.output),
        );
      } catch (e) {
        if (e instanceof MalformedEvent)
          throw new AppError('BAD_REQUEST', `Malformed ${envelope.output.event} event data`);
        throw e;
      }
      // The event name comes from the caller: only the handled ones become label values.
      const event = CRISP_EVENTS.includes(envelope.output.event) ? envelope.output.event : 'other';
      deps.metrics.inc('answerdesk_crisp_webhooks_total', 'Crisp webhook deliveries by result.', {
        event,
        action,
      });
      return { ok: true, action };
    },
    {
      params: ChatbotParams,
      parse: rawBody(),
      response: {
        200: v.object({ ok: v.literal(true), action: v.string() }),
        400: ErrorResponse,
        401: ErrorResponse,
        404: ErrorResponse,
        413: ErrorResponse,
      },
      detail: {
        tags: ['crisp'],
        summary:
          'The Crisp webhook (authenticated by the `key` in the URL or the plugin signature)',
        security: [],
      },
    },
  );

  return new Elysia({ name: 'crisp' }).use(admin).use(webhook);
}
