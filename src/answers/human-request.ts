// An explicit request for a person ("talk to a human", "agent please"), recognised without the
// LLM: the handoff then happens with no model call (no cost, no quota), and still happens when the
// model ignores its instructions or is down. Deliberately narrow and English only: anything less
// explicit, and every other language, is left to the model's own `asked_for_human` decision.

const PERSON =
  '(?:real |live |actual |human )?(?:human(?: being)?|person|agent|operator|representative|rep|somebody|someone|staff member|support agent)';

const PATTERNS: RegExp[] = [
  // "can I talk to a human", "speak with someone", "chat with a live agent"
  new RegExp(
    `\\b(?:talk|speak|chat)\\s+(?:to|with)\\s+(?:a |an |some |the |your |one of your )?${PERSON}\\b`,
  ),
  // "I want a human", "get me an agent", "connect me to an operator", "transfer me to a person"
  new RegExp(
    `\\b(?:i want|i need|i'd like|i would like|can i get|can i have|get me|give me|connect me (?:to|with)|transfer me to|put me through to)\\s+(?:a |an |to a |to an |the )?${PERSON}\\b`,
  ),
  // The whole message is the request: "human", "agent please", "a real person!"
  new RegExp(`^(?:a |an )?${PERSON}(?: please| now)?$`),
];

/** "I don't want to talk to a human": a negation just before the request (≤ 2 words) cancels it. */
const NEGATED = /\b(?:don't|dont|do not|no need to|never|not)\s+(?:[a-z']+\s+){0,2}$/;

/** True when the visitor explicitly asks for a person (English, conservative). */
export function asksForHuman(message: string): boolean {
  const text = message
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[^a-z' ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!text || text.length > 300) return false;
  for (const pattern of PATTERNS) {
    const match = pattern.exec(text);
    if (match && !NEGATED.test(text.slice(0, match.index))) return true;
  }
  return false;
}
