// The character codes the linear scanners compare with (`text.charCodeAt(i)`, or the bytes of UTF-8
// text: every one is below 0x80, the same code in both): the JSON depth and syntax walks
// (src/http/json-limits.ts, json-syntax.ts) and the XML scans (src/ingest/docx.ts, sitemap.ts).

export const BANG = 0x21; // !
export const QUOTE = 0x22; // "
export const APOSTROPHE = 0x27; // '
export const COMMA = 0x2c; // ,
export const SLASH = 0x2f; // /
export const LT = 0x3c; // <
export const GT = 0x3e; // >
export const QUESTION = 0x3f; // ?
export const OPEN_ARRAY = 0x5b; // [
export const BACKSLASH = 0x5c; // \
export const CLOSE_ARRAY = 0x5d; // ]
export const OPEN_OBJECT = 0x7b; // {
export const CLOSE_OBJECT = 0x7d; // }

/** JSON's white space (and XML's): space, line feed, carriage return, tab. */
export const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
