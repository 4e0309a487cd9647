// One question through the whole answer pipeline with no trace: the visitor's first message in a
// playground conversation of its own, removed afterwards (the Crisp dry run, the answer tests).
import type { Database } from 'bun:sqlite';
import type { Chatbot } from '../chatbots/model.ts';
import type { Clock } from '../clock.ts';
import {
  addVisitorMessage,
  deleteConversation,
  findConversationByExternalId,
  getOrCreateConversation,
} from '../conversations/service.ts';
import { type AnswerDeps, type AnswerResult, answerMessage } from './answer.ts';

export type AskOnceDeps = { db: Database; clock: Clock; answers: AnswerDeps };

/**
 * Answers `question` in the throwaway conversation `externalId`. A conversation of that id a
 * crash left behind is removed first, so no earlier history leaks into the answer.
 */
export async function askOnce(
  deps: AskOnceDeps,
  chatbot: Chatbot,
  question: string,
  options: { externalId: string; signal?: AbortSignal },
): Promise<AnswerResult> {
  const key = {
    chatbotId: chatbot.id,
    channel: 'playground' as const,
    externalId: options.externalId,
  };
  const leftover = findConversationByExternalId(
    deps.db,
    key.chatbotId,
    key.channel,
    key.externalId,
  );
  if (leftover) deleteConversation(deps.db, leftover.id);
  const at = () => new Date(deps.clock.now());
  const conversation = getOrCreateConversation(deps.db, key, at());
  try {
    const visitor = addVisitorMessage(deps.db, conversation.id, { content: question }, at());
    return await answerMessage(deps.answers, {
      chatbot,
      conversationId: conversation.id,
      visitorMessageId: visitor.id,
      message: question,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    deleteConversation(deps.db, conversation.id);
  }
}
