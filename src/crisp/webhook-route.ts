// The public Crisp webhook route: find the connection, read the body within its limit, verify,
// parse the envelope, then apply it (src/crisp/webhook.ts) in a group commit before the 200.
import { Elysia } from 'elysia';
import * as v from 'valibot';
import { findChatbot } from '../chatbots/service.ts';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { parseJsonText, rawBody, readBodyText } from '../http/body.ts';
import type { Metrics } from '../http/metrics.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import { GroupCommit } from '../storage/sqlite/group-commit.ts';
import { type ConnectionStore, CRISP_EVENTS } from './connections.ts';
import { Envelope } from './model.ts';
import { verifyDelivery } from './verify.ts';
import { handleEvent, MalformedEvent, type WebhookDeps } from './webhook.ts';

/** Crisp webhook deliveries larger than this are refused (413). */
export const WEBHOOK_BODY_LIMIT_BYTES = 1_048_576;

export type WebhookRouteDeps = Omit<WebhookDeps, 'burstWindowMs'> & {
  config: Pick<Config, 'CRISP_BURST_WINDOW_MS' | 'CRISP_SIGNATURE_MAX_AGE_SECONDS'>;
  metrics: Metrics;
  connections: ConnectionStore;
};

const DELIVERIES = 'Crisp webhook deliveries by result.';

export function webhookRoute(deps: WebhookRouteDeps) {
  const { config, connections } = deps;
  const commits = new GroupCommit(deps.db);
  const webhookDeps: WebhookDeps = {
    db: deps.db,
    worker: deps.worker,
    burstWindowMs: config.CRISP_BURST_WINDOW_MS,
    clock: deps.clock,
  };
  return new Elysia({ name: 'crisp-webhook', prefix: '/api/integrations/livechat/crisp' }).post(
    '/webhook/:chatbotId',
    async ({ params, request }) => {
      // Order of checks (docs/notes/contract.md): unknown or disconnected → 404, too large → 413,
      // bad key or signature → 401 with nothing recorded, not a Crisp delivery → 400.
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
        deps.metrics.inc('answerdesk_crisp_webhooks_total', DELIVERIES, {
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
      deps.metrics.inc('answerdesk_crisp_webhooks_total', DELIVERIES, { event, action });
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
}
