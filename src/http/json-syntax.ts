// Where a JSON text breaks: JSON.parse only says what (and quotes the input doing so), so a body it
// refuses is walked once more to find the first bad character's line and column.
import { BACKSLASH, isSpace, QUOTE } from '../char-codes.ts';

/** A JSON syntax error: what went wrong, at which line and column (both from 1). */
export type JsonSyntaxError = { problem: string; line: number; column: number };

/** Deeper than this the walk stops (bodies reach it only after the depth check, ≤ 32 levels). */
const DEPTH_MAX = 64;

class Broken {
  constructor(
    readonly at: number,
    readonly problem: string,
  ) {}
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;
const LITERAL = /true|false|null/y;
const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/**
 * A recursive-descent walk over the JSON grammar that throws `Broken` at the first error. It
 * reads character codes, as json-limits.ts does: 1.2 MB of small tokens takes 10–35 ms, once,
 * and only for a body JSON.parse has already refused.
 */
class Walk {
  i = 0;
  constructor(readonly text: string) {}

  fail(problem: string): never {
    throw new Broken(this.i, this.i >= this.text.length ? `unexpected end (${problem})` : problem);
  }

  at(): number {
    return this.text.charCodeAt(this.i);
  }

  spaces() {
    while (isSpace(this.at())) this.i++;
  }

  /** Moves past what `pattern` (sticky) matches here; false when it matches nothing. */
  skip(pattern: RegExp): boolean {
    pattern.lastIndex = this.i;
    if (!pattern.test(this.text)) return false;
    this.i = pattern.lastIndex;
    return true;
  }

  expect(c: string, problem: string) {
    if (this.text[this.i] !== c) this.fail(problem);
    this.i++;
  }

  string(what: string) {
    this.expect('"', `expected ${what} in double quotes`);
    for (;;) {
      const c = this.at();
      if (c === QUOTE) break;
      if (Number.isNaN(c)) this.fail('unterminated string');
      // Control characters (below U+0020) must be escaped inside a string.
      if (c < 0x20) this.fail('control character inside a string (escape it)');
      if (c !== BACKSLASH) this.i++;
      else if (!this.skip(ESCAPE)) this.fail('invalid escape in a string');
    }
    this.i++;
  }

  digits() {
    if (!isDigit(this.at())) this.fail('expected a digit');
    while (isDigit(this.at())) this.i++;
  }

  number() {
    if (this.text[this.i] === '-') this.i++;
    if (this.text[this.i] === '0') this.i++;
    else this.digits();
    if (this.text[this.i] === '.') {
      this.i++;
      this.digits();
    }
    const e = this.text[this.i];
    if (e === 'e' || e === 'E') {
      this.i++;
      const sign = this.text[this.i];
      if (sign === '+' || sign === '-') this.i++;
      this.digits();
    }
  }

  /** The items of an array or the members of an object, from its opening bracket. */
  items(object: boolean, depth: number) {
    const close = object ? '}' : ']';
    this.i++;
    this.spaces();
    if (this.text[this.i] === close) {
      this.i++;
      return;
    }
    for (;;) {
      if (object) {
        this.spaces();
        this.string('a property name');
        this.spaces();
        this.expect(':', 'expected ":" after a property name');
      }
      this.value(depth + 1);
      this.spaces();
      if (this.text[this.i] !== ',') break;
      this.i++;
    }
    const after = object ? 'a property value' : 'an array item';
    this.expect(close, `expected "," or "${close}" after ${after}`);
  }

  value(depth: number) {
    this.spaces();
    if (depth > DEPTH_MAX) this.fail('nested too deep');
    const c = this.text[this.i];
    if (c === '{' || c === '[') this.items(c === '{', depth);
    else if (c === '"') this.string('a string');
    else if (c === '-' || isDigit(this.at())) this.number();
    else if (!this.skip(LITERAL)) this.fail('expected a value');
  }

  document() {
    this.value(0);
    this.spaces();
    if (this.i < this.text.length) this.fail('unexpected text after the JSON value');
  }
}

/** Line and column (from 1; a column counts characters, not bytes) of `offset` in `text`. */
function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) {
    line++;
    lineStart = at + 1;
  }
  // Code points, so an emoji earlier on the line counts as one character (a pair counts once).
  const pairs = text.slice(lineStart, offset).match(SURROGATE_PAIR)?.length ?? 0;
  return { line, column: offset - lineStart - pairs + 1 };
}

/** The first syntax error of `text`, or null when it is valid JSON. */
export function jsonSyntaxError(text: string): JsonSyntaxError | null {
  try {
    new Walk(text).document();
    return null;
  } catch (e) {
    if (!(e instanceof Broken)) throw e;
    return { problem: e.problem, ...position(text, e.at) };
  }
}
