// Token prices per model (USD per million tokens), built in and overridable with LLM_PRICES.
import * as v from 'valibot';

export const ModelPrice = v.object({
  /** USD per million prompt tokens. */
  input: v.pipe(v.number(), v.minValue(0)),
  /** USD per million completion tokens. */
  output: v.pipe(v.number(), v.minValue(0)),
});
export type ModelPrice = v.InferOutput<typeof ModelPrice>;

export const PriceTable = v.record(v.pipe(v.string(), v.minLength(1)), ModelPrice);
export type PriceTable = v.InferOutput<typeof PriceTable>;

/**
 * Groq's published on-demand prices when this was written; they change, so operators override
 * them with `LLM_PRICES` (merged over this table). Costs are estimates for budgeting, not billing.
 */
export const DEFAULT_PRICES: PriceTable = {
  'openai/gpt-oss-20b': { input: 0.075, output: 0.3 },
  'openai/gpt-oss-120b': { input: 0.15, output: 0.6 },
  'llama-3.1-8b-instant': { input: 0.05, output: 0.08 },
  'llama-3.3-70b-versatile': { input: 0.59, output: 0.79 },
  'meta-llama/llama-4-scout-17b-16e-instruct': { input: 0.11, output: 0.34 },
  'meta-llama/llama-4-maverick-17b-128e-instruct': { input: 0.2, output: 0.6 },
  'qwen/qwen3-32b': { input: 0.29, output: 0.59 },
};

/** Estimated cost in USD, rounded to 1e-8; 0 when the model has no price. */
export function estimateCostUsd(
  prices: PriceTable,
  model: string,
  promptTokens: number,
  completionTokens: number,
): number {
  const price = prices[model];
  if (!price) return 0;
  const usd = (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
  return Math.round(usd * 1e8) / 1e8;
}
