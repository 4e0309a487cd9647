import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateRun, parseQrels } from '../../src/knowledge/eval-metrics.ts';
import { RRF_K, reciprocalRankFusion } from '../../src/knowledge/search.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { FakeEmbedder } from './fake-embedder.ts';

describe('reciprocalRankFusion', () => {
  it('should add 1/(k + rank) per list and rank keys in both lists first', () => {
    const fused = reciprocalRankFusion([
      [
        { key: 'a', score: 9 },
        { key: 'b', score: 5 },
      ],
      [
        { key: 'b', score: 0.9 },
        { key: 'c', score: 0.8 },
      ],
    ]);
    expect(fused.map((f) => f.key)).toEqual(['b', 'a', 'c']);
    expect(fused[0]?.score).toBeCloseTo(1 / (RRF_K + 2) + 1 / (RRF_K + 1), 12);
    expect(fused[0]?.legs).toEqual([
      { rank: 2, score: 5 },
      { rank: 1, score: 0.9 },
    ]);
    expect(fused[2]?.legs).toEqual([null, { rank: 2, score: 0.8 }]);
  });

  it('should keep the order of a single list and count a repeated key once', () => {
    const fused = reciprocalRankFusion(
      [
        [
          { key: 'x', score: 3 },
          { key: 'y', score: 2 },
          { key: 'x', score: 1 },
        ],
        [],
      ],
      10,
    );
    expect(fused.map((f) => [f.key, f.score])).toEqual([
      ['x', 1 / 11],
      ['y', 1 / 12],
    ]);
  });

  it('should return nothing for empty lists', () => {
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });
});

describe('evaluateRun', () => {
  it('should compute nDCG@10, recall and MRR as the shared scorer defines them', () => {
    const qrels = parseQrels(
      'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t1\nq2\td3\t1\nq3\td9\t0\n',
    );
    expect([...qrels.keys()]).toEqual(['q1', 'q2']);
    const m = evaluateRun(
      qrels,
      new Map([
        ['q1', ['d2', 'x', 'd1']],
        ['q2', ['x', 'y']],
      ]),
    );
    const idcg = 1 + 1 / Math.log2(3);
    expect(m.ndcg10).toBeCloseTo((1 + 1 / Math.log2(4)) / idcg / 2, 12);
    expect(m.recall10).toBeCloseTo(0.5, 12);
    expect(m.recall100).toBeCloseTo(0.5, 12);
    expect(m.mrr10).toBeCloseTo(0.5, 12);
    expect(m.queries).toBe(2);
  });
});

describe('search route with an embedder', () => {
  let t: TestApp;
  let chatbotId: string;
  beforeAll(async () => {
    t = await buildTestApp({}, { embedder: new FakeEmbedder(64) });
    chatbotId = (
      await (await t.request('/api/v1/chatbots', { method: 'POST', json: { name: 'H' } })).json()
    ).id;
    for (const [title, text] of [
      ['Passwords', 'To reset your password open the login page and click forgot password.'],
      ['Invoices', 'Invoices are emailed on the first day of each month.'],
    ]) {
      await t.request(`/api/v1/chatbots/${chatbotId}/sources`, {
        method: 'POST',
        json: { type: 'text', title, text },
      });
    }
  });
  afterAll(async () => {
    await t.deps.knowledge.settle();
    t.deps.knowledge.close();
    await t.close();
  });

  it('should fuse the vector and full-text legs and explain both', async () => {
    const res = await t.request(`/api/v1/chatbots/${chatbotId}/search?explain=true`, {
      method: 'POST',
      json: { query: 'reset password' },
    });
    expect(res.status).toBe(200);
    const { hits } = await res.json();
    expect(hits[0].title).toBe('Passwords');
    expect(hits[0].explain.fts.rank).toBe(1);
    expect(hits[0].explain.vector.rank).toBe(1);
    expect(hits[0].score).toBeCloseTo(2 / (RRF_K + 1), 12);
  });

  it('should start a re-embed with POST /api/v1/reindex and keep answering', async () => {
    const res = await t.request('/api/v1/reindex', { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'started', embedding: 'openai:fake-hash:64' });
    await t.deps.knowledge.settle();
    const search = await t.request(`/api/v1/chatbots/${chatbotId}/search`, {
      method: 'POST',
      json: { query: 'invoices' },
    });
    expect((await search.json()).hits[0].title).toBe('Invoices');
  });
});

describe('answerdesk eval', () => {
  it('should score a small labelled set and write a TREC run keyed by corpus id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'answerdesk-evalset-'));
    try {
      const docs = [
        { id: 'd1', title: 'Refunds', text: 'Refunds take five business days.' },
        { id: 'd2', title: 'Shipping', text: 'We ship worldwide with tracking.' },
        { id: 'd3', title: 'Passwords', text: 'Reset a password from the login page.' },
      ];
      writeFileSync(join(dir, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n'));
      writeFileSync(
        join(dir, 'queries.jsonl'),
        [
          { id: 'q1', text: 'how long is a refund?' },
          { id: 'q2', text: 'forgot my password' },
        ]
          .map((q) => JSON.stringify(q))
          .join('\n'),
      );
      writeFileSync(join(dir, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n');
      const runFile = join(dir, 'run.trec');
      const logs: string[] = [];
      const original = console.log;
      console.log = (...args: unknown[]) => logs.push(args.join(' '));
      const { runEval } = await import('../../src/knowledge/eval.ts');
      const { buildDeps } = await import('../../src/deps.ts');
      const { addTextSources } = await import('../../src/sources/bulk.ts');
      let code: number;
      try {
        code = await runEval([dir, '--run', runFile, '--limit', '10'], buildDeps, addTextSources);
      } finally {
        console.log = original;
      }
      expect(code).toBe(0);
      expect(logs.join('\n')).toContain('nDCG@10     1.0000');
      const run = readFileSync(runFile, 'utf8').trim().split('\n');
      expect(run[0]).toMatch(/^q1 Q0 d1 1 [\d.]+ answerdesk$/);
      expect(run.some((l) => l.startsWith('q2 Q0 d3 1 '))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
