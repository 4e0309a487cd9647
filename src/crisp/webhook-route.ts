// The public Crisp webhook route: find the connection, read the body within its limit, verify,
// parse the envelope, then apply it (src/crisp/webhook.ts) in a group commit before the 200. Every
// delivery of a connected chatbot leaves a row in its delivery log (src/crisp/delivery-log.ts) in
// that same commit; a refused one (413, 401, 400) leaves one without anything from its body.
import { Elysia } from 'elysia';
import * as v from 'valibot';
import { findChatbot } from '../chatbots/service.ts';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { parseJsonText, rawBody, readBodyText } from '../http/body.ts';
import type { Metrics } from '../http/metrics.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import type { GroupCommit } from '../storage/sqlite/group-commit.ts';
import { type ConnectionStore, CRISP_EVENTS } from './connections.ts';
import { logDelivery, logRefused } from './delivery-log.ts';
import { Envelope } from './model.ts';
import { verifyDelivery } from './verify.ts';
import { type Handled, handleEvent, MalformedEvent, type WebhookDeps } from './webhook.ts';

/** Crisp webhook deliveries larger than this are refused (413). */
const WEBHOOK_BODY_LIMIT_BYTES = 1_048_576;

export type WebhookRouteDeps = Omit<WebhookDeps, 'burstWindowMs' | 'connections'> & {
  config: Pick<Config, 'CRISP_BURST_WINDOW_MS' | 'CRISP_SIGNATURE_MAX_AGE_SECONDS'>;
  metrics: Metrics;
  connections: ConnectionStore;
  commits: GroupCommit;
};

const DELIVERIES = 'Crisp webhook deliveries by result.';

/** The session a delivery is about, when its data names one (kept in the log, never the text). */
function sessionOf(data: Record<string, unknown>): string | null {
  const id = data.session_id;
  return typeof id === 'string' && id.length <= 200 ? id : null;
}

function fingerprintOf(data: Record<string, unknown>): string | null {
  const fp = data.fingerprint;
  return typeof fp === 'number' || (typeof fp === 'string' && fp.length <= 100) ? String(fp) : null;
}

export function webhookRoute(deps: WebhookRouteDeps) {
  const { config, connections, commits } = deps;
  const webhookDeps: WebhookDeps = {
    db: deps.db,
    worker: deps.worker,
    burstWindowMs: config.CRISP_BURST_WINDOW_MS,
    clock: deps.clock,
    connections,
  };
  return new Elysia({ name: 'crisp-webhook', prefix: '/api/integrations/livechat/crisp' }).post(
    '/webhook/:chatbotId',
    async ({ params, request }) => {
      // Order of checks (docs/notes/contract.md): unknown or disconnected → 404, too large → 413,
      // bad key or signature → 401 with nothing of the body recorded, not a Crisp delivery → 400.
      const connection = connections.get(params.chatbotId);
      const chatbot = connection ? findChatbot(deps.db, params.chatbotId) : undefined;
      if (!connection || !chatbot)
        throw new AppError('NOT_FOUND', 'No Crisp connection for this chatbot');
      const receivedAt = deps.clock.now();
      /** Logs the refusal (nothing from the body) in the same group commit, then refuses. */
      const refuse = async (reason: string, error: AppError): Promise<never> => {
        await commits.run(() => logRefused(deps.db, chatbot.id, receivedAt, reason));
        throw error;
      };
      let raw: string;
      try {
        raw = await readBodyText(request, WEBHOOK_BODY_LIMIT_BYTES);
      } catch (e) {
        if (e instanceof AppError && e.code === 'PAYLOAD_TOO_LARGE') return refuse('too_large', e);
        throw e;
      }
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
        return refuse(
          verified.why,
          new AppError('UNAUTHORIZED', 'Missing or invalid webhook key or signature'),
        );
      }
      let parsed: ReturnType<typeof parseJsonText>;
      try {
        parsed = parseJsonText(raw);
      } catch (e) {
        if (e instanceof AppError) return refuse('not_json', e);
        throw e;
      }
      const envelope = v.safeParse(Envelope, parsed);
      if (!envelope.success) {
        return refuse(
          'not_crisp_envelope',
          new AppError('BAD_REQUEST', 'Not a Crisp webhook delivery ({website_id, event, data})'),
        );
      }
      const { event, data, website_id: websiteId } = envelope.output;
      // Committed (in a group with the deliveries of this turn) before the 200, with its log row.
      const handled = await commits.run((): Handled => {
        let result: Handled;
        try {
          result = handleEvent(webhookDeps, connection, chatbot, envelope.output);
        } catch (e) {
          if (!(e instanceof MalformedEvent)) throw e;
          result = { action: 'rejected', reason: 'malformed_event' };
        }
        logDelivery(deps.db, {
          chatbotId: chatbot.id,
          at: receivedAt,
          event,
          websiteId,
          sessionId: sessionOf(data),
          fingerprint: fingerprintOf(data),
          ...result,
        });
        return result;
      });
      if (handled.action === 'rejected') {
        throw new AppError('BAD_REQUEST', `Malformed ${event} event data`);
      }
      // The event name comes from the caller: only the handled ones become label values.
      const label = CRISP_EVENTS.includes(event) ? event : 'other';
      deps.metrics.inc('answerdesk_crisp_webhooks_total', DELIVERIES, {
        event: label,
        action: handled.action,
      });
      return { ok: true, action: handled.action };
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
