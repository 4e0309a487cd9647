// Prometheus text: label values escaped as the exposition format requires, plain ones as they are.
import { describe, expect, it } from 'bun:test';
import { Metrics } from '../../src/http/metrics.ts';

describe('metrics', () => {
  it('should escape backslashes, quotes and newlines in label values, and leave plain ones', () => {
    const metrics = new Metrics();
    metrics.inc('t_total', 'Test.', { a: 'say "hi"\\\nbye', b: 'plain' });
    metrics.observeRequest('GET', '/x/"q"', 200, 3);
    const text = metrics.render();
    expect(text).toContain('t_total{a="say \\"hi\\"\\\\\\nbye",b="plain"} 1');
    expect(text).toContain('http_requests_total{method="GET",route="/x/\\"q\\"",status="200"} 1');
  });
});
