// Path and query parameters shared by the routes: one schema per parameter set, used by every feature.
import * as v from 'valibot';

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(100));

/** `/chatbots/:chatbotId/…` */
export const ChatbotParams = v.object({ chatbotId: id });

/** `/chatbots/:chatbotId/sources/:sourceId/…` */
export const SourceParams = v.object({ chatbotId: id, sourceId: id });

/** `/chatbots/:chatbotId/conversations/:sessionId/…` (a Crisp session id) */
export const SessionParams = v.object({
  chatbotId: id,
  sessionId: v.pipe(v.string(), v.minLength(1), v.maxLength(200)),
});

/** `/plans/:planId` */
export const PlanParams = v.object({ planId: id });

/**
 * `?limit=N`: a whole number from 1 to `max` (at most 999: three digits bound the parse), absent
 * for the route's default.
 */
export const limitQuery = (max: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,3}$/, 'a whole number'),
      v.transform(Number),
      v.minValue(1),
      v.maxValue(max),
    ),
  );
