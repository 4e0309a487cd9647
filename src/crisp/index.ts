// The Crisp feature's routes: the admin routes (connect, status, disconnect, dry run) and the
// public webhook. Its reply job is registered by `registerJobs` (src/deps.ts).
import { Elysia } from 'elysia';
import { type CrispAdminDeps, crispAdminRoutes } from './admin-routes.ts';
import { type WebhookRouteDeps, webhookRoute } from './webhook-route.ts';

export type CrispRouteDeps = CrispAdminDeps & WebhookRouteDeps;

export function crispRoutes(deps: CrispRouteDeps) {
  return new Elysia({ name: 'crisp' }).use(crispAdminRoutes(deps)).use(webhookRoute(deps));
}
