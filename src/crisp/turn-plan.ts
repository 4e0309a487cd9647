// The pure part of the reply turn: which posts an answer leads to, and the note for the agents.
import type { AnswerResult } from '../answers/answer.ts';
import type { SearchHit } from '../answers/retrieve.ts';
import type { Chatbot } from '../chatbots/model.ts';
import type { HandoffReason } from '../conversations/model.ts';
import type { CrispOutgoingMessage } from './client.ts';
import type { PostKind } from './model.ts';

export type PlannedPost = { kind: PostKind; body: CrispOutgoingMessage };

const textMessage = (chatbot: Chatbot, content: string): CrispOutgoingMessage => ({
  type: 'text',
  from: 'operator',
  origin: 'chat',
  content,
  user: {
    nickname: chatbot.persona.nickname,
    ...(chatbot.persona.avatar ? { avatar: chatbot.persona.avatar } : {}),
  },
});

const noteMessage = (content: string): CrispOutgoingMessage => ({
  type: 'note',
  from: 'operator',
  origin: 'chat',
  content,
});

const REASON_TEXT: Record<HandoffReason, string> = {
  no_answer: 'the knowledge base does not answer it',
  asked_for_human: 'the visitor asked for a person',
  frustration: 'the visitor seems frustrated',
  error: 'answering failed (LLM or retrieval error)',
  quota: "the chatbot's message quota is used up",
};

/** The private note for the agents: the question, why the bot stepped back, what it found. */
export function handoffNote(question: string, reason: HandoffReason, sources: SearchHit[]): string {
  const lines = [
    `🤖 answerdesk handed this conversation to a human: ${REASON_TEXT[reason]}.`,
    '',
    `Visitor's question: ${question.slice(0, 1500)}`,
  ];
  const best = sources.slice(0, 3);
  if (best.length > 0) {
    lines.push('', 'Best passages found:');
    for (const [i, hit] of best.entries()) {
      const text = hit.text.replace(/\s+/g, ' ').trim();
      lines.push(
        `${i + 1}. ${hit.title}${hit.url ? ` (${hit.url})` : ''}, score ${hit.score.toFixed(3)}: ${text.slice(0, 300)}${text.length > 300 ? '…' : ''}`,
      );
    }
  } else {
    lines.push('', 'No relevant passage was found in the knowledge base.');
  }
  return lines.join('\n');
}

/**
 * The posts an answer leads to, in order. A quota handoff tells the visitor once per conversation
 * (`quotaAlreadyPosted`); later ones only leave the note.
 */
export function plannedPosts(
  chatbot: Chatbot,
  question: string,
  result: Pick<AnswerResult, 'reply' | 'handoff' | 'reason' | 'sources'>,
  quotaAlreadyPosted: boolean,
): PlannedPost[] {
  if (!result.handoff) return [{ kind: 'reply', body: textMessage(chatbot, result.reply) }];
  const reason = result.reason ?? 'no_answer';
  const posts: PlannedPost[] = [];
  if (reason === 'quota') {
    if (!quotaAlreadyPosted)
      posts.push({ kind: 'quota', body: textMessage(chatbot, result.reply) });
  } else {
    posts.push({ kind: 'handoff', body: textMessage(chatbot, result.reply) });
  }
  posts.push({ kind: 'note', body: noteMessage(handoffNote(question, reason, result.sources)) });
  return posts;
}
