// Plan schemas: named sets of message limits that chatbots reference by `planId`.
import * as v from 'valibot';

/** Messages per window; null = unlimited. */
const limit = v.nullable(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1_000_000_000)));
const name = v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(200));

/** The id of the plan that comes from configuration (DEFAULT_MONTHLY_MESSAGES, DEFAULT_DAILY_MESSAGES). */
export const DEFAULT_PLAN_ID = 'default';

export const CreatePlanBody = v.strictObject({
  name,
  /** Visitor messages answered per calendar month (UTC); null or absent = unlimited. */
  monthlyMessages: v.optional(limit, null),
  /** Visitor messages answered per day (UTC); null or absent = unlimited. */
  dailyMessages: v.optional(limit, null),
});
export type CreatePlanBody = v.InferOutput<typeof CreatePlanBody>;

export const UpdatePlanBody = v.strictObject({
  name: v.optional(name),
  monthlyMessages: v.optional(limit),
  dailyMessages: v.optional(limit),
});
export type UpdatePlanBody = v.InferOutput<typeof UpdatePlanBody>;

export const Plan = v.object({
  id: v.string(),
  name: v.string(),
  monthlyMessages: v.nullable(v.number()),
  dailyMessages: v.nullable(v.number()),
  /** True for the plan from configuration: read-only through the API. */
  isDefault: v.boolean(),
  /** Chatbots that reference this plan (for the default plan: also those with no plan). */
  chatbotCount: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type Plan = v.InferOutput<typeof Plan>;

export const PlanList = v.object({ items: v.array(Plan) });
