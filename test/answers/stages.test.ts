import { describe, expect, it } from 'bun:test';
import * as v from 'valibot';
import { citationSuffix, citedPassages } from '../../src/answers/citations.ts';
import { parseRewrite, planQuery } from '../../src/answers/condense.ts';
import { detectLanguage } from '../../src/answers/language.ts';
import {
  buildAnswerMessages,
  buildCondenseMessages,
  CONDENSE_MARKER,
  formatPassages,
} from '../../src/answers/prompt.ts';
import { Chatbot, ChatbotSettings } from '../../src/chatbots/model.ts';

const chatbot = (settings: Record<string, unknown> = {}): Chatbot =>
  v.parse(Chatbot, {
    id: 'cb_1',
    name: 'Shop',
    planId: null,
    ...v.parse(ChatbotSettings, settings),
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  });

describe('language guess', () => {
  it('should recognise common languages and stay unsure on short text', () => {
    expect(detectLanguage('How do I get a refund for my order?')).toBe('en');
    expect(detectLanguage('Comment puis-je obtenir un remboursement pour ma commande ?')).toBe(
      'fr',
    );
    expect(detectLanguage('Wie kann ich meine Bestellung zurückgeben und das Geld bekommen?')).toBe(
      'de',
    );
    expect(detectLanguage('¿Cómo puedo devolver mi pedido y cuándo llega el dinero?')).toBe('es');
    expect(detectLanguage('Как вернуть заказ?')).toBe('ru');
    expect(detectLanguage('返品したいです')).toBe('ja');
    expect(detectLanguage('ok')).toBeNull();
  });
});

describe('query plan', () => {
  it('should skip the rewrite call on a first message in the knowledge language', () => {
    const plan = planQuery('How do I get a refund for my order?', [], 'en');
    expect(plan).toMatchObject({ condense: false, translateTo: null });
  });

  it('should condense a follow-up and translate another language for the lexical leg', () => {
    const history = [{ role: 'visitor' as const, content: 'hi' }];
    expect(planQuery('and for Canada?', history, 'en').condense).toBe(true);
    expect(planQuery('Comment puis-je obtenir un remboursement ?', [], 'en').translateTo).toBe(
      'en',
    );
    expect(
      planQuery('Comment puis-je obtenir un remboursement ?', [], null).translateTo,
    ).toBeNull();
  });

  it('should parse the rewrite JSON and reject anything else', () => {
    expect(parseRewrite('```json\n{"query":"refund Canada","lexicalQuery":"refund"}\n```')).toEqual(
      { query: 'refund Canada', lexicalQuery: 'refund' },
    );
    expect(parseRewrite('{"query": ""}')).toBeNull();
    expect(parseRewrite('sure! refund')).toBeNull();
  });

  it('should build one rewrite prompt carrying history and the target language', () => {
    const messages = buildCondenseMessages({
      history: [{ role: 'visitor', content: 'Do you ship to the US?' }],
      message: 'and Canada?',
      knowledgeLanguage: 'en',
    });
    expect(messages[0]?.content.startsWith(CONDENSE_MARKER)).toBe(true);
    expect(messages[0]?.content).toContain('English');
    expect(messages[1]?.content).toContain('Do you ship to the US?');
    expect(messages[1]?.content).toContain('Latest message: and Canada?');
  });
});

describe('answer prompt', () => {
  it('should number passages with title and URL and carry instructions, rules and history', () => {
    const messages = buildAnswerMessages({
      chatbot: chatbot({ instructions: 'We are ACME.', persona: { nickname: 'Ada' } }),
      passages: [
        { title: 'Refunds', url: 'https://acme.test/refunds', text: 'Refunds take 5 days.' },
        { title: 'Shipping', url: null, text: 'We ship worldwide.' },
      ],
      history: [
        { role: 'visitor', content: 'hello' },
        { role: 'bot', content: 'Hi! How can I help?' },
        { role: 'operator', content: 'I am Bob.' },
      ],
      message: 'refund?',
    });
    const system = messages[0]?.content ?? '';
    expect(system).toContain('You are Ada');
    expect(system).toContain('We are ACME.');
    expect(system).toContain(
      '[1] Title: Refunds\nURL: https://acme.test/refunds\nRefunds take 5 days.',
    );
    expect(system).toContain('[2] Title: Shipping\nWe ship worldwide.');
    expect(system).toContain('[[answer]]');
    expect(system).toContain('Never invent prices');
    expect(messages.slice(1)).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'Hi! How can I help?' },
      { role: 'assistant', content: '(human agent) I am Bob.' },
      { role: 'user', content: 'refund?' },
    ]);
  });

  it('should say so when no passage was found', () => {
    expect(formatPassages([])).toContain('no passages');
  });
});

describe('citations', () => {
  const passages = [
    { chunkId: 'a', url: 'https://x.test/a' },
    { chunkId: 'b', url: 'https://x.test/a' },
    { chunkId: 'c', url: null },
    { chunkId: 'd', url: 'https://x.test/d' },
  ];

  it('should list only cited passages, once, ignoring numbers out of range', () => {
    expect(citedPassages([4, 1, 4, 9, 0], passages).map((p) => p.chunkId)).toEqual(['d', 'a']);
  });

  it('should append distinct URLs with links and nothing with none', () => {
    const cited = citedPassages([1, 2, 3], passages);
    expect(citationSuffix('links', cited)).toBe('\n\nhttps://x.test/a');
    expect(citationSuffix('none', cited)).toBe('');
    expect(citationSuffix('links', [])).toBe('');
  });
});
