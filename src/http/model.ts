// Schemas shared by every route: the error envelope.
import * as v from 'valibot';

export const ErrorResponse = v.object({
  error: v.object({ code: v.string(), message: v.string(), requestId: v.string() }),
});
