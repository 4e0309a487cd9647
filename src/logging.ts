// Logging: pino JSON lines on stdout, with secrets redacted by field name and in URLs.
import { writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';

export type { Logger };

/** Field names whose values are never written to the log, at any depth we log. */
const SECRET_FIELDS = [
  'authorization',
  'token',
  'tokenKey',
  'token_key',
  'apiKey',
  'api_key',
  'signingSecret',
  'webhookSecret',
  'secret',
  'password',
  'key',
  'adminToken',
  'ADMIN_TOKEN',
  'SECRET_KEY',
  'GROQ_API_KEY',
  'EMBEDDING_API_KEY',
  'x-crisp-signature',
];

const CENSOR = '[REDACTED]';
const secretFields = new Set(SECRET_FIELDS);
/** A secret field as a key in JSON text: inside a string its quotes would be escaped. */
const SECRET_KEY_IN_JSON = new RegExp(
  `"(?:${SECRET_FIELDS.map((f) => f.replace(/[-.]/g, '\\$&')).join('|')})":`,
);

function censorSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(censorSecrets);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = secretFields.has(k) ? CENSOR : censorSecrets(v);
  return out;
}

/**
 * Redacts secret fields, by name and at any depth, in one serialised log line. pino's own `redact`
 * re-parses every path on every call (~100 µs a line with our list, measured in
 * scripts/profile-webhook.ts); here a line without a secret field name costs one regex test.
 */
export function redactLine(line: string): string {
  if (!SECRET_KEY_IN_JSON.test(line)) return line;
  try {
    return `${JSON.stringify(censorSecrets(JSON.parse(line)))}\n`;
  } catch {
    return `${JSON.stringify({ level: 'error', msg: 'log line withheld: it could not be redacted' })}\n`;
  }
}

export function createLogger(
  level: string,
  destination: pino.DestinationStream | undefined = undefined,
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'answerdesk' },
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: { streamWrite: redactLine },
    formatters: { level: (label) => ({ level: label }) },
  };
  // pino's transports resolve worker files by path and fail inside the compiled binary
  // (docs/notes/stack.md §5): write plain JSON lines to stdout (fd 1) ourselves instead.
  return pino(options, destination ?? stdoutLines());
}

/** Lines held before a write even within one turn of the event loop. */
const LINES_MAX_BYTES = 64 * 1024;

/**
 * JSON lines to stdout, written once per turn of the event loop: under load one `write` carries
 * the lines of every request of the turn (a write per line was ~10 % of a webhook delivery's CPU:
 * docs/notes/crisp.md, "Ack path performance"). Written synchronously and in order; what a turn
 * logged is written before the next turn, at once from an `error` or `fatal` line on (with the
 * lines before it: the last words before a crash), and at exit. A process killed without running
 * its exit hooks (kill -9, a default-action signal, a native crash, the OOM killer) loses the
 * `info` and `warn` lines of its last turn. Other writes to stdout (`console.log`) are not held:
 * within one turn they can come before pino lines logged earlier.
 */
function stdoutLines(): LineSink {
  stdout ??= lineSink(1);
  return stdout;
}

type LineSink = pino.DestinationStream & { flush: (done?: (error?: Error) => void) => void };

/** Every logger of the process shares the one stdout sink (and its one exit hook). */
let stdout: LineSink | undefined;

/** Lines at these levels are written at once (levels are labels: `formatters.level` above). */
const URGENT = /^\{"level":"(?:error|fatal)"/;

function lineSink(fd: number): LineSink {
  let lines: string[] = [];
  let bytes = 0;
  let queued = false;
  let exiting = false;
  const writeHeld = () => {
    queued = false;
    if (lines.length === 0) return;
    const text = lines.join('');
    lines = [];
    bytes = 0;
    writeAll(fd, Buffer.from(text));
  };
  process.once('exit', () => {
    // From here no turn follows: lines logged by later exit hooks are written as they come.
    exiting = true;
    writeHeld();
  });
  return {
    // pino's `logger.flush(cb)` passes a callback.
    flush(done) {
      writeHeld();
      done?.();
    },
    write(line: string) {
      lines.push(line);
      bytes += line.length;
      if (exiting || bytes >= LINES_MAX_BYTES || URGENT.test(line)) return writeHeld();
      if (!queued) {
        queued = true;
        setImmediate(writeHeld);
      }
    },
  };
}

/** Writes all of `data`, waiting out a full non-blocking pipe (EAGAIN) a millisecond at a time. */
function writeAll(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

/**
 * Names of query parameters whose values never reach a log line: anything that looks like a
 * credential (`key`, `access_token`, `client_secret`, `api-key`, `password`, `sig`, `auth`, …).
 * Deliberately broad: masking a harmless value costs nothing, logging a token costs a leak.
 */
const SECRET_PARAM_NAME =
  /token|secret|passw|pwd|key|auth|sig|credential|session|cookie|jwt|bearer|hmac|otp|code/i;

/** `name=value` pairs after the `?` (and in a `#` fragment, where OAuth puts tokens). */
const PARAM = /([?&;#])([^=&;#]*)=([^&;#]*)/g;

/** `user:password@` in an absolute URL (e.g. an EMBEDDING_BASE_URL with basic auth). */
const USER_INFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i;

function paramName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** Masks secret query parameters (the webhook `key`, `access_token`, …) and credentials in a URL or path. */
export function redactUrl(url: string): string {
  const withoutUser = url.replace(USER_INFO, '$1[REDACTED]@');
  const query = withoutUser.search(/[?#]/);
  if (query === -1) return withoutUser;
  const tail = withoutUser
    .slice(query)
    .replace(PARAM, (pair, separator: string, name: string) =>
      SECRET_PARAM_NAME.test(paramName(name)) ? `${separator}${name}=[REDACTED]` : pair,
    );
  return withoutUser.slice(0, query) + tail;
}
