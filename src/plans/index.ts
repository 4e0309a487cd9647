// Admin routes for plans: thin handlers over the plan service.
import type { Database } from 'bun:sqlite';
import { Elysia } from 'elysia';
import type { Clock } from '../clock.ts';
import { ErrorResponse } from '../http/model.ts';
import { PlanParams } from '../http/params.ts';
import { CreatePlanBody, Plan, PlanList, UpdatePlanBody } from './model.ts';
import { createPlan, deletePlan, getPlan, listPlans, updatePlan } from './service.ts';

export type PlanRouteDeps = {
  db: Database;
  clock: Clock;
};

export function planRoutes(deps: PlanRouteDeps) {
  const at = () => new Date(deps.clock.now());
  // The `default` plan is synced with the configuration at every start (buildDeps, src/deps.ts).
  return new Elysia({ name: 'plans', prefix: '/api/v1/plans' })
    .post('', ({ body, status }) => status(201, createPlan(deps.db, body, at())), {
      body: CreatePlanBody,
      response: { 201: Plan, 401: ErrorResponse, 409: ErrorResponse, 422: ErrorResponse },
      detail: { tags: ['plans'], summary: 'Create a plan (named message limits)' },
    })
    .get('', () => ({ items: listPlans(deps.db) }), {
      response: { 200: PlanList, 401: ErrorResponse },
      detail: { tags: ['plans'], summary: 'List plans, the default plan first' },
    })
    .get('/:planId', ({ params }) => getPlan(deps.db, params.planId), {
      params: PlanParams,
      response: { 200: Plan, 401: ErrorResponse, 404: ErrorResponse },
      detail: { tags: ['plans'], summary: 'Read a plan' },
    })
    .patch('/:planId', ({ params, body }) => updatePlan(deps.db, params.planId, body, at()), {
      params: PlanParams,
      body: UpdatePlanBody,
      response: {
        200: Plan,
        401: ErrorResponse,
        404: ErrorResponse,
        409: ErrorResponse,
        422: ErrorResponse,
      },
      detail: {
        tags: ['plans'],
        summary: 'Update a plan (only the fields given change; the default plan is read-only)',
      },
    })
    .delete(
      '/:planId',
      ({ params, set }) => {
        deletePlan(deps.db, params.planId);
        set.status = 204;
      },
      {
        params: PlanParams,
        response: { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse },
        detail: {
          tags: ['plans'],
          summary: 'Delete a plan no chatbot uses (the default plan cannot be deleted)',
        },
      },
    );
}
