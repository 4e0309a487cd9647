// The model's output protocol and the streaming filter that keeps it invisible to the visitor.
//
// The model writes ONE control line first — `[[answer]]` or `[[handoff:<reason>]]` — then, for an
// answer, the reply with inline passage citations like `[2]` or `[1, 3]`. A reply written as a
// JSON object (`{"reply", "handoff", "reason"}`) is understood too, held back until complete. The filter holds text
// back only while it could still be the control line or a citation, so the visitor's stream is
// never polluted, however the tokens are split, and the decision is known before any text goes out.

/** Reasons the model itself may give; `error` and `quota` are decided by the pipeline. */
export const MODEL_HANDOFF_REASONS = ['no_answer', 'asked_for_human', 'frustration'] as const;
export type ModelHandoffReason = (typeof MODEL_HANDOFF_REASONS)[number];

export type Decision =
  | { kind: 'answer'; header: 'ok' | 'missing' | 'unknown' }
  | { kind: 'handoff'; reason: ModelHandoffReason };

/** The control line the model writes for each decision (used by the prompt and by fakes). */
export const ANSWER_HEADER = '[[answer]]';
export const handoffHeader = (reason: ModelHandoffReason) => `[[handoff:${reason}]]`;

/** Longest control line we wait for before deciding the model wrote none. */
const HEADER_CHARS_MAX = 64;

const HEADER = /^\[\[\s*([a-z_]+)\s*(?:[:=]\s*([a-z_]+)\s*)?\]\]/i;
/** A complete citation: `[2]`, `[1, 3]`, `[passage 2]`, `[source 1; 4]`. */
const CITATION = /^\[\s*(?:(?:passages?|sources?|docs?)\s*)?(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]/i;
/** Something that may still grow into a citation. */
const CITATION_PREFIX = /^\[\s*(?:[a-z]{0,8}\s*)?(?:\d{1,3}(?:\s*[,;]\s*\d{0,3})*)?\s*$/i;
/** A stray control marker anywhere in the body (never shown). */
const MARKER = /^\[\[[^\]\n]{0,60}\]\]/;
const MARKER_PREFIX = /^\[\[[^\]\n]{0,60}\]?$/;

export function parseHeader(line: string): Decision | null {
  const match = HEADER.exec(line.trim());
  if (!match) return null;
  const word = (match[1] ?? '').toLowerCase();
  const reason = (match[2] ?? '').toLowerCase();
  if (word === 'answer') return { kind: 'answer', header: 'ok' };
  if (word === 'handoff') {
    const known = (MODEL_HANDOFF_REASONS as readonly string[]).includes(reason);
    // A handoff with an odd reason is still a handoff: the model could not answer.
    return { kind: 'handoff', reason: known ? (reason as ModelHandoffReason) : 'no_answer' };
  }
  return { kind: 'answer', header: 'unknown' };
}

/**
 * Reads a reply written as a JSON object instead of the control line, e.g.
 * `{"reply": "…", "handoff": false}` or `{"handoff": true, "reason": "asked_for_human"}`.
 * Returns null when the text is not such an object (it is then shown as plain text).
 */
export function parseJsonAnswer(text: string): { decision: Decision; reply: string } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  const reply = [o.reply, o.answer, o.text].find((x): x is string => typeof x === 'string');
  const handoff = o.handoff;
  if (reply === undefined && handoff === undefined) return null;
  const wantsHandoff = handoff === true || (typeof handoff === 'string' && handoff !== '');
  if (wantsHandoff) {
    const given =
      typeof o.reason === 'string' ? o.reason : typeof handoff === 'string' ? handoff : '';
    const known = (MODEL_HANDOFF_REASONS as readonly string[]).includes(given);
    return {
      decision: { kind: 'handoff', reason: known ? (given as ModelHandoffReason) : 'no_answer' },
      reply: '',
    };
  }
  return { decision: { kind: 'answer', header: 'ok' }, reply: reply ?? '' };
}

export type ReplyFilter = {
  /** Feeds raw model text (any split). */
  push(text: string): void;
  /** Ends the stream: flushes what was held back. */
  end(): void;
  /** The decision, once the control line is parsed (null before). */
  readonly decision: Decision | null;
  /** Passage numbers cited in the visible text, in order of first use. */
  readonly cited: number[];
  /** Everything emitted so far (equals the concatenation of `onText` calls). */
  readonly text: string;
};

/**
 * A streaming filter: parses the control line, removes citation markers (recording the numbers)
 * and stray `[[…]]` markers, trims the reply, and calls `onText` with clean visible text. After a
 * handoff decision nothing is emitted (the pipeline shows the chatbot's own handoff text).
 */
export function createReplyFilter(
  options: { onText?: (text: string) => void; onDecision?: (decision: Decision) => void } = {},
): ReplyFilter {
  let decision: Decision | null = null;
  let head = '';
  let hold = '';
  let started = false;
  let emitted = '';
  const cited: number[] = [];

  const emit = (text: string) => {
    if (!text) return;
    let out = text;
    if (!started) {
      out = out.replace(/^\s+/, '');
      if (!out) return;
      started = true;
    }
    emitted += out;
    options.onText?.(out);
  };

  const decide = (d: Decision) => {
    decision = d;
    options.onDecision?.(d);
  };

  /** Processes body text; `final` releases everything still held. */
  const body = (text: string, final: boolean) => {
    if (decision?.kind === 'handoff') return;
    let buf = hold + text;
    hold = '';
    let out = '';
    for (;;) {
      const i = buf.indexOf('[');
      if (i < 0) {
        // Trailing whitespace waits: it is dropped if a citation follows, or at the very end.
        const trimmed = buf.replace(/\s+$/, '');
        out += trimmed;
        hold = final ? '' : buf.slice(trimmed.length);
        break;
      }
      const before = buf.slice(0, i);
      const beforeTrimmed = before.replace(/\s+$/, '');
      const gap = before.slice(beforeTrimmed.length);
      const rest = buf.slice(i);
      const citation = CITATION.exec(rest);
      if (citation) {
        for (const n of (citation[1] ?? '').split(/[,;]/)) {
          const num = Number(n.trim());
          if (Number.isInteger(num) && !cited.includes(num)) cited.push(num);
        }
        out += beforeTrimmed;
        buf = rest.slice(citation[0].length);
        // Keep one space if the marker sat between two words ("see [1] below" → "see below").
        if (gap && /^[^\s.,;:!?)]/.test(buf)) buf = ` ${buf}`;
        continue;
      }
      const marker = MARKER.exec(rest);
      if (marker) {
        out += beforeTrimmed;
        buf = rest.slice(marker[0].length);
        if (gap && /^[^\s.,;:!?)]/.test(buf)) buf = ` ${buf}`;
        continue;
      }
      if (!final && (CITATION_PREFIX.test(rest) || MARKER_PREFIX.test(rest))) {
        out += beforeTrimmed;
        hold = gap + rest;
        break;
      }
      if (final && rest.startsWith('[[')) {
        // An unfinished control marker at the very end: never show it.
        out += beforeTrimmed;
        break;
      }
      out += `${before}[`;
      buf = buf.slice(i + 1);
    }
    emit(out);
  };

  const header = (final: boolean) => {
    const t = head.replace(/^\s+/, '');
    if (t === '' && !final) return;
    if (t.startsWith('{')) {
      // A JSON answer object (the other common LLM answer contract): wait for all of it.
      if (!final) return;
      const json = parseJsonAnswer(t);
      if (json) {
        decide(json.decision);
        head = '';
        body(json.reply, true);
        return;
      }
    }
    const couldBeHeader = t.startsWith('[[') || t === '[';
    if (couldBeHeader && !final) {
      const close = t.indexOf(']]');
      if (close < 0 && t.length < HEADER_CHARS_MAX && !t.includes('\n')) return;
    }
    const parsed = couldBeHeader ? parseHeader(t) : null;
    if (parsed) {
      const match = HEADER.exec(t) as RegExpExecArray;
      decide(parsed);
      head = '';
      body(t.slice(match[0].length), final);
      return;
    }
    // No control line: treat the text as an answer (the pipeline logs it).
    decide({ kind: 'answer', header: 'missing' });
    head = '';
    body(t, final);
  };

  return {
    push(text: string) {
      if (!text) return;
      if (decision === null) {
        head += text;
        header(false);
      } else {
        body(text, false);
      }
    },
    end() {
      if (decision === null) header(true);
      else body('', true);
    },
    get decision() {
      return decision;
    },
    get cited() {
      return cited;
    },
    get text() {
      return emitted;
    },
  };
}
