// Logging: pino JSON lines on stdout, with secrets redacted by path and in URLs.
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

const redactPaths = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export function createLogger(
  level: string,
  destination: pino.DestinationStream | undefined = undefined,
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'answerdesk' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  // pino's transports resolve worker files by path and fail inside the compiled binary
  // (STACK.md §5): write plain JSON lines to stdout (fd 1) synchronously instead.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}

/** Query parameters whose values must never reach a log line. */
const SECRET_PARAMS = /([?&](?:key|token|secret|api_key|apikey)=)[^&#]*/gi;

/** `user:password@` in an absolute URL (e.g. an EMBEDDING_BASE_URL with basic auth). */
const USER_INFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i;

/** Masks secret query parameters (the webhook `key`, …) and credentials in a URL or path. */
export function redactUrl(url: string): string {
  return url.replace(USER_INFO, '$1[REDACTED]@').replace(SECRET_PARAMS, '$1[REDACTED]');
}
