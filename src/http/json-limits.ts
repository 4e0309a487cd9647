// Bounds on the shape of JSON we receive, checked by one linear scan before anything parses it.
//
// JSON.parse itself is fast, but what runs on a parsed body is not linear: Elysia builds every
// validation error by pretty-printing the whole value (`JSON.stringify(value, null, 2)`), so the
// work and memory grow with depth × size. A 20,000-level body held the event loop for ~21 s and a
// 100,000-level one took 4 GiB; a flat 1 MiB array of 500,000 numbers still took ~0.5 s. With depth
// and the number of values bounded, the cost of a body stays linear in its size (README, Limits).
import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COMMA,
  isSpace,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
} from '../char-codes.ts';

/** The deepest nesting of arrays and objects a JSON body may have. */
export const JSON_DEPTH_MAX = 32;

/** The most array items and object members a JSON body may hold, all levels together. */
export const JSON_VALUES_MAX = 10_000;

/**
 * Why `text` is outside the bounds (too deep, too many values), or null when it is within them.
 * Strings and their escapes are skipped, so brackets and commas inside them do not count.
 * Malformed JSON is not judged here: JSON.parse does that afterwards, on a text known to be small
 * in depth and values.
 */
export function jsonShapeProblem(
  text: string,
  limits: { depthMax: number; valuesMax: number } = {
    depthMax: JSON_DEPTH_MAX,
    valuesMax: JSON_VALUES_MAX,
  },
): string | null {
  let depth = 0;
  let values = 0;
  let inString = false;
  // Just after `[` or `{`: the next token says whether the container holds a first value.
  let opened = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (opened && !isSpace(c)) {
      opened = false;
      if (c !== CLOSE_ARRAY && c !== CLOSE_OBJECT) values++;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      depth++;
      if (depth > limits.depthMax) {
        return `The JSON body nests deeper than ${limits.depthMax} levels`;
      }
      opened = true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
    else if (c === COMMA) values++;
    if (values > limits.valuesMax) {
      return `The JSON body holds more than ${limits.valuesMax} values (array items and object members)`;
    }
  }
  return null;
}
