import { describe, expect, it } from 'bun:test';
import { ConfigError, parseEnv } from '../../src/config.ts';
import { DEFAULT_PRICES, estimateCostUsd } from '../../src/llm/prices.ts';

describe('LLM prices', () => {
  it('should parse LLM_PRICES JSON and default to an empty override', () => {
    expect(parseEnv({}).LLM_PRICES).toEqual({});
    expect(parseEnv({ LLM_PRICES: '{"my-model": {"input": 1, "output": 2}}' }).LLM_PRICES).toEqual({
      'my-model': { input: 1, output: 2 },
    });
  });

  it('should reject malformed LLM_PRICES naming the key', () => {
    for (const bad of ['nope', '{"m": {"input": -1, "output": 1}}', '{"m": 3}']) {
      try {
        parseEnv({ LLM_PRICES: bad });
        throw new Error('accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).problems.map((p) => p.key)).toEqual(['LLM_PRICES']);
      }
    }
  });

  it('should estimate cost per million tokens and 0 for an unknown model', () => {
    expect(estimateCostUsd(DEFAULT_PRICES, 'openai/gpt-oss-20b', 1_000_000, 1_000_000)).toBe(0.375);
    expect(estimateCostUsd(DEFAULT_PRICES, 'unknown', 1_000, 1_000)).toBe(0);
  });
});
