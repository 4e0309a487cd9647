// The playground: POST /api/v1/chatbots/:chatbotId/chat, as JSON or streamed as SSE.
import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import { getChatbot } from '../chatbots/service.ts';
import type { Clock } from '../clock.ts';
import { addVisitorMessage, getOrCreateConversation } from '../conversations/service.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import type { Logger } from '../logging.ts';
import { quotaHook } from '../quotas/service.ts';
import { type AnswerDeps, type AnswerResult, answerMessage, handoffText } from './answer.ts';
import { ChatBody, ChatResponse } from './model.ts';

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export type AnswerRouteDeps = { db: Database; log: Logger; clock: Clock; answers: AnswerDeps };

export function answerRoutes(deps: AnswerRouteDeps) {
  return new Elysia({ name: 'answers', prefix: '/api/v1' }).post(
    '/chatbots/:chatbotId/chat',
    async ({ params, body, request }) => {
      const chatbot = getChatbot(deps.db, params.chatbotId);
      const conversationId = body.conversationId ?? crypto.randomUUID();
      const now = new Date(deps.clock.now());
      const conversation = getOrCreateConversation(
        deps.db,
        { chatbotId: chatbot.id, channel: 'playground', externalId: conversationId },
        now,
      );
      const visitor = addVisitorMessage(deps.db, conversation.id, { content: body.message }, now);
      // Playground turns cost LLM tokens like any other, so they count against the quota too:
      // "costs never pass the quota" holds whoever is typing.
      const run = (signal: AbortSignal, onToken?: (text: string) => void) =>
        answerMessage(deps.answers, {
          chatbot,
          conversationId: conversation.id,
          visitorMessageId: visitor.id,
          message: body.message,
          signal,
          onToken,
          quota: quotaHook(deps.db, chatbot.id, deps.clock),
        });
      const wantsStream = (request.headers.get('accept') ?? '').includes('text/event-stream');
      if (!wantsStream) {
        const result = await run(request.signal);
        // Both branches return a Response so the handler has one type; the schema documents it.
        return Response.json(toResponse(result, conversationId));
      }
      const encoder = new TextEncoder();
      // A reader that cancels the stream (the client went away) stops the LLM call too, which
      // the request's own signal does not promise once the response has started.
      const cancelled = new AbortController();
      const signal = AbortSignal.any([request.signal, cancelled.signal]);
      const stream = new ReadableStream<Uint8Array>({
        cancel() {
          cancelled.abort();
        },
        async start(controller) {
          const send = (event: string, data: unknown) => {
            try {
              controller.enqueue(encoder.encode(sse(event, data)));
            } catch {
              // The client went away; `cancel` stopped the pipeline.
            }
          };
          let result: AnswerResult | null = null;
          try {
            result = await run(signal, (text) => send('token', { text }));
          } catch (cause) {
            deps.log.error({ err: cause, chatbotId: chatbot.id }, 'playground answer failed');
          }
          if (!result) {
            send('token', { text: handoffText(chatbot, 'error') });
            send('sources', []);
            send('done', {
              handoff: true,
              reason: 'error',
              usage: null,
              conversationId,
            });
          } else {
            send('sources', result.sources);
            send('done', {
              handoff: result.handoff,
              reason: result.reason,
              usage: result.usage,
              conversationId,
            });
          }
          try {
            controller.close();
          } catch {}
        },
      });
      return new Response(stream, {
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          // Reverse proxies (nginx) would otherwise buffer the stream and defeat it.
          'x-accel-buffering': 'no',
          // A header value must be visible Latin-1; the id may be any 1–128 characters.
          'x-conversation-id': encodeURIComponent(conversationId.toWellFormed()),
        },
      });
    },
    {
      params: ChatbotParams,
      body: ChatBody,
      response: { 200: ChatResponse, 401: ErrorResponse, 404: ErrorResponse, 422: ErrorResponse },
      detail: {
        tags: ['chat'],
        summary:
          'Playground: answer a message like the bot would (JSON, or SSE with Accept: text/event-stream)',
        description:
          'SSE events: `token` {"text"} …, then `sources` [hits], then `done` {"handoff","reason","usage","conversationId"}.',
      },
    },
  );
}

function toResponse(result: AnswerResult, conversationId: string): ChatResponse {
  return {
    reply: result.reply,
    sources: result.sources,
    handoff: result.handoff,
    reason: result.reason,
    conversationId,
    usage: result.usage,
  };
}
