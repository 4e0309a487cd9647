// The one owner of `unanswered_groups` and `unanswered_questions`: the groups of handed-off
// questions, their state (open, resolved with a Q&A source, dismissed) and their members, each
// with the text compared and its cached vector.
import type { Database } from 'bun:sqlite';

export type GroupState = 'open' | 'resolved' | 'dismissed';

export type Group = {
  id: string;
  state: GroupState;
  sourceId: string | null;
  createdAt: string;
  /** When it was resolved or dismissed. */
  closedAt: string | null;
};

/** A grouped question: the bot message of its handoff, the question as asked and as compared. */
export type Member = {
  messageId: string;
  groupId: string;
  question: string;
  compared: string;
  askedAt: string;
  /** The cached vector of `compared`, and the embedder (`embedderId`) that made it. */
  vector: Float32Array | null;
  vectorModel: string | null;
};

/** A member with its group's state (whether it is listed, and what a new question may join). */
export type GroupedMember = Member & { state: GroupState; closedAt: string | null };

type MemberRow = Omit<GroupedMember, 'vector'> & { vector: Uint8Array | null };

const MEMBER = `q.message_id AS messageId, q.group_id AS groupId, q.question, q.compared,
  q.asked_at AS askedAt, q.vector, q.vector_model AS vectorModel, g.state, g.closed_at AS closedAt`;

const GROUP = 'id, state, source_id AS sourceId, created_at AS createdAt, closed_at AS closedAt';

// Stored as the float32 bytes; read back into an aligned copy.
const toBlob = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
const fromBlob = (b: Uint8Array) =>
  new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

const toMember = ({ vector, ...row }: MemberRow): GroupedMember => ({
  ...row,
  vector: vector ? fromBlob(vector) : null,
});

/** The members among these bot message ids (the questions already grouped). */
export function membersOf(db: Database, messageIds: string[]): GroupedMember[] {
  if (messageIds.length === 0) return [];
  return db
    .query<MemberRow, [string]>(
      `SELECT ${MEMBER} FROM unanswered_questions q JOIN unanswered_groups g ON g.id = q.group_id
       WHERE q.message_id IN (SELECT value FROM json_each(?1))`,
    )
    .all(JSON.stringify(messageIds))
    .map(toMember);
}

/**
 * The most recent members (at most `limit`) of the chatbot's groups a question asked at `since` or
 * later may join: open ones, and those closed after `since`.
 */
export function joinableMembers(
  db: Database,
  chatbotId: string,
  since: string,
  limit: number,
): GroupedMember[] {
  return db
    .query<MemberRow, [string, string, number]>(
      `SELECT ${MEMBER} FROM unanswered_questions q JOIN unanswered_groups g ON g.id = q.group_id
       WHERE q.chatbot_id = ?1 AND (g.state = 'open' OR g.closed_at > ?2)
       ORDER BY q.asked_at DESC LIMIT ?3`,
    )
    .all(chatbotId, since, limit)
    .map(toMember);
}

/** The most recent members of one group. */
export function groupMembers(db: Database, groupId: string, limit: number): GroupedMember[] {
  return db
    .query<MemberRow, [string, number]>(
      `SELECT ${MEMBER} FROM unanswered_questions q JOIN unanswered_groups g ON g.id = q.group_id
       WHERE q.group_id = ?1 ORDER BY q.asked_at DESC LIMIT ?2`,
    )
    .all(groupId, limit)
    .map(toMember);
}

export function insertGroup(db: Database, chatbotId: string, id: string, createdAt: string) {
  db.query(
    `INSERT INTO unanswered_groups (id, chatbot_id, state, created_at) VALUES (?, ?, 'open', ?)`,
  ).run(id, chatbotId, createdAt);
}

export function insertMember(db: Database, chatbotId: string, member: Member) {
  db.query(
    `INSERT INTO unanswered_questions
       (message_id, group_id, chatbot_id, question, compared, asked_at, vector, vector_model)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    member.messageId,
    member.groupId,
    chatbotId,
    member.question,
    member.compared,
    member.askedAt,
    member.vector ? toBlob(member.vector) : null,
    member.vectorModel,
  );
}

/** Caches the vector of a member's compared text (made by `model`). */
export function setVector(db: Database, messageId: string, vector: Float32Array, model: string) {
  db.query('UPDATE unanswered_questions SET vector = ?, vector_model = ? WHERE message_id = ?').run(
    toBlob(vector),
    model,
    messageId,
  );
}

export function findGroup(db: Database, chatbotId: string, id: string): Group | undefined {
  return (
    db
      .query<Group, [string, string]>(
        `SELECT ${GROUP} FROM unanswered_groups WHERE id = ? AND chatbot_id = ?`,
      )
      .get(id, chatbotId) ?? undefined
  );
}

/** Closes an open group (false when it was not open: another request closed it first). */
export function closeGroup(
  db: Database,
  id: string,
  state: 'resolved' | 'dismissed',
  now: Date,
): boolean {
  return (
    db
      .query(
        `UPDATE unanswered_groups SET state = ?, closed_at = ? WHERE id = ? AND state = 'open'`,
      )
      .run(state, now.toISOString(), id).changes > 0
  );
}

/** Opens a group again (its Q&A source could not be added). */
export function reopenGroup(db: Database, id: string) {
  db.query(
    `UPDATE unanswered_groups SET state = 'open', closed_at = NULL, source_id = NULL WHERE id = ?`,
  ).run(id);
}

/** Links a resolved group to the Q&A source made from it. */
export function setGroupSource(db: Database, id: string, sourceId: string) {
  db.query('UPDATE unanswered_groups SET source_id = ? WHERE id = ?').run(sourceId, id);
}
