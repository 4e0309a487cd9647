// Crisp admin routes: connect, status, disconnect and the dry run.
import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import { getChatbot } from '../chatbots/service.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { ErrorResponse } from '../http/model.ts';
import { ChatbotParams } from '../http/params.ts';
import type { Worker } from '../jobs/worker.ts';
import type { Logger } from '../logging.ts';
import type { CrispClient } from './client.ts';
import { type ConnectionStore, CRISP_EVENTS, webhookUrl } from './connections.ts';
import { listDeliveries } from './delivery-log.ts';
import { type DryRunDeps, dryRun, SAMPLE_QUESTION } from './dry-run.ts';
import {
  ConnectBody,
  ConnectionStatusResponse,
  ConnectResponse,
  DeliveriesQuery,
  DeliveriesResponse,
  TestBody,
  TestResponse,
} from './model.ts';
import { publicUrlWarning } from './public-url.ts';
import { REPLY_JOB } from './webhook.ts';

export type CrispAdminDeps = DryRunDeps & {
  config: Pick<Config, 'PUBLIC_URL'>;
  log: Logger;
  db: Database;
  clock: Clock;
  worker: Worker;
  crisp: CrispClient;
  connections: ConnectionStore;
};

/**
 * Checks the credentials with Crisp, then stores them: nothing is stored when Crisp refuses them
 * (400 `CRISP_CREDENTIALS_REJECTED` with Crisp's reason) or cannot be asked (502).
 */
async function connect(deps: CrispAdminDeps, chatbotId: string, body: ConnectBody) {
  const credentials = {
    chatbotId,
    websiteId: body.websiteId,
    identifier: body.tokenIdentifier,
    key: body.tokenKey,
    tier: body.tier,
  };
  const check = await deps.crisp.checkCredentials(credentials);
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
  const connection = deps.connections.save(
    chatbotId,
    { credentials, signingSecret: body.signingSecret },
    new Date(deps.clock.now()),
  );
  return {
    connected: true as const,
    websiteId: connection.websiteId,
    webhookUrl: webhookUrl(deps.config.PUBLIC_URL, chatbotId, connection.webhookSecret),
    events: CRISP_EVENTS,
    tier: connection.credentials.tier,
    signed: connection.signingSecret !== null,
    warning: publicUrlWarning(deps.config.PUBLIC_URL),
  };
}

/** Every admin route answers these: no admin token, unknown chatbot. */
const REFUSED = { 401: ErrorResponse, 404: ErrorResponse };

export function crispAdminRoutes(deps: CrispAdminDeps) {
  const log = deps.log.child({ component: 'crisp' });
  return new Elysia({ name: 'crisp-admin', prefix: '/api/v1/chatbots' })
    .put(
      '/:chatbotId/integrations/crisp',
      async ({ params, body }) => {
        getChatbot(deps.db, params.chatbotId);
        const connected = await connect(deps, params.chatbotId, body);
        log.info(
          { chatbotId: params.chatbotId, websiteId: body.websiteId, tier: body.tier },
          'crisp connected',
        );
        return connected;
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
        return (
          deps.connections.status(
            params.chatbotId,
            deps.config.PUBLIC_URL,
            new Date(deps.clock.now()),
          ) ?? { connected: false }
        );
      },
      {
        params: ChatbotParams,
        response: { 200: ConnectionStatusResponse, ...REFUSED },
        detail: { tags: ['crisp'], summary: 'Crisp connection status and health (secrets masked)' },
      },
    )
    .get(
      '/:chatbotId/integrations/crisp/deliveries',
      ({ params, query }) => {
        getChatbot(deps.db, params.chatbotId);
        const limit = query.limit ?? 50;
        return { deliveries: listDeliveries(deps.db, params.chatbotId, deps.clock.now(), limit) };
      },
      {
        params: ChatbotParams,
        query: DeliveriesQuery,
        response: { 200: DeliveriesResponse, ...REFUSED, 422: ErrorResponse },
        detail: {
          tags: ['crisp'],
          summary:
            'The delivery log ("the bot does not answer" starts here): every webhook delivery of the last 7 days, newest first, what the webhook did and what the visitor message came to (`limit` 1–500, default 50)',
        },
      },
    )
    .delete(
      '/:chatbotId/integrations/crisp',
      ({ params, set }) => {
        getChatbot(deps.db, params.chatbotId);
        deps.connections.remove(params.chatbotId);
        deps.worker.abortRunningOf(REPLY_JOB, params.chatbotId, 'crisp was disconnected');
        log.info({ chatbotId: params.chatbotId }, 'crisp disconnected');
        set.status = 204;
      },
      {
        params: ChatbotParams,
        response: REFUSED,
        detail: {
          tags: ['crisp'],
          summary: 'Disconnect Crisp: wipes the credentials (the webhook then answers 404)',
        },
      },
    )
    .post(
      '/:chatbotId/integrations/crisp/test',
      ({ params, body }) => {
        const chatbot = getChatbot(deps.db, params.chatbotId);
        const connection = deps.connections.get(params.chatbotId);
        if (!connection) throw new AppError('NOT_FOUND', 'Crisp is not connected for this chatbot');
        return dryRun(deps, chatbot, connection, body?.message ?? SAMPLE_QUESTION);
      },
      {
        params: ChatbotParams,
        body: TestBody,
        response: { 200: TestResponse, ...REFUSED, 422: ErrorResponse },
        detail: {
          tags: ['crisp'],
          summary:
            'Dry run: a sample question through the whole pipeline plus a live credential check; posts nothing',
        },
      },
    );
}
