// The pure part of the reply turn: the posts an answer leads to, and the agents' note.
import { describe, expect, it } from 'bun:test';
import type { Chatbot } from '../../src/chatbots/model.ts';
import { handoffNote, plannedPosts } from '../../src/crisp/turn-plan.ts';

const chatbot = {
  persona: { nickname: 'Ada', avatar: 'https://shop.test/ada.png' },
} as unknown as Chatbot;

const hit = (n: number, text = `Passage ${n} text.`) => ({
  sourceId: `src_${n}`,
  chunkId: `ch_${n}`,
  title: `Title ${n}`,
  url: n % 2 ? `https://shop.test/${n}` : null,
  text,
  score: 1 / n,
});

const kinds = (posts: ReturnType<typeof plannedPosts>) => posts.map((p) => p.kind);

describe('plannedPosts', () => {
  it('should post an answer as one text message as the bot persona', () => {
    const posts = plannedPosts(
      chatbot,
      'When do you open?',
      { reply: 'At nine.', handoff: false, reason: null, sources: [hit(1)] },
      false,
    );
    expect(posts).toEqual([
      {
        kind: 'reply',
        body: {
          type: 'text',
          from: 'operator',
          origin: 'chat',
          content: 'At nine.',
          user: { nickname: 'Ada', avatar: 'https://shop.test/ada.png' },
        },
      },
    ]);
  });

  it('should post a handoff as the visitor text, then the private note', () => {
    const posts = plannedPosts(
      chatbot,
      'Gift cards?',
      { reply: 'A teammate will reply.', handoff: true, reason: 'no_answer', sources: [] },
      false,
    );
    expect(kinds(posts)).toEqual(['handoff', 'note']);
    expect(posts[0]!.body.content).toBe('A teammate will reply.');
    expect(posts[1]!.body).toMatchObject({ type: 'note', from: 'operator' });
    expect(posts[1]!.body).not.toHaveProperty('user');
  });

  it('should tell the visitor about the quota once per conversation, and always leave the note', () => {
    const quota = {
      reply: 'Out of answers.',
      handoff: true,
      reason: 'quota' as const,
      sources: [],
    };
    expect(kinds(plannedPosts(chatbot, 'q', quota, false))).toEqual(['quota', 'note']);
    expect(kinds(plannedPosts(chatbot, 'q', quota, true))).toEqual(['note']);
  });
});

describe('handoffNote', () => {
  it('should give the question, the reason and the three best passages, bounded', () => {
    const long = `${'word '.repeat(100)}end`;
    const note = handoffNote('Q'.repeat(2_000), 'asked_for_human', [
      hit(1, long),
      hit(2),
      hit(3),
      hit(4),
    ]);
    expect(note).toContain('the visitor asked for a person');
    expect(note).toContain(`Visitor's question: ${'Q'.repeat(1_500)}\n`);
    expect(note).not.toContain('Q'.repeat(1_501));
    expect(note).toContain('1. Title 1 (https://shop.test/1), score 1.000: word word');
    expect(note).toContain('…');
    expect(note).toContain('2. Title 2, score 0.500: Passage 2 text.');
    expect(note).toContain('3. Title 3');
    expect(note).not.toContain('Title 4');
  });

  it('should say when nothing relevant was found', () => {
    expect(handoffNote('Hi', 'error', [])).toContain(
      'No relevant passage was found in the knowledge base.',
    );
  });
});
