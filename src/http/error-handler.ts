// One error handler: every failure becomes {"error":{"code","message","requestId"}}.
import { Elysia, type ValidationError } from 'elysia';
import * as v from 'valibot';
import { AppError, type ErrorCode, errorStatus } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { storageFailureReason } from '../storage/sqlite/write-health.ts';
import { requestInfo } from './request-context.ts';

type Issue = {
  path?: readonly (PropertyKey | { key: PropertyKey })[];
  message: string;
  expected?: string | null;
  received?: string;
  kind?: string;
  type?: string;
};

/** The longest field path a validation message shows; longer ones are cut, with an ellipsis. */
export const FIELD_PATH_CHARS_MAX = 64;

/** The most issues a validation message lists; the rest are counted. */
export const ISSUES_SHOWN_MAX = 10;

/** Cuts a field path a caller chose (an unknown key can be any length) to FIELD_PATH_CHARS_MAX. */
function boundedPath(path: string): string {
  if (path.length <= FIELD_PATH_CHARS_MAX) return path;
  let cut = path.slice(0, FIELD_PATH_CHARS_MAX - 1);
  // Never leave half of a surrogate pair behind.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * A message a schema gave its check (`v.regex(re, 'a time HH:MM')`): written by us, so it holds no
 * received value, unlike valibot's own ("Invalid …: Expected … but received …").
 */
const ownMessage = (message: string) => message !== '' && !message.startsWith('Invalid ');

/** What an issue asks of its field, in words; never the value received. */
function expectation(issue: Issue, path: string): string {
  if (issue.expected === 'never') return 'is not an allowed field';
  if (issue.kind !== 'schema') {
    if (ownMessage(issue.message)) return `must be ${issue.message}`;
    return `must satisfy ${issue.type ?? 'constraint'}${issue.expected ? ` ${issue.expected}` : ''}`;
  }
  // JSON has no `undefined`: it is how valibot reports a field that is absent. For a missing key
  // valibot "expects" the key's own name, which says nothing; a missing variant tag lists choices.
  if (issue.received === 'undefined') {
    const named = issue.expected === `"${path.split('.').pop()}"`;
    return issue.expected && !named ? `is required, expected ${issue.expected}` : 'is required';
  }
  return `expected ${issue.expected ?? issue.type}`;
}

/**
 * Field paths and what each expects: never the received values (they may hold secrets), and the
 * paths bounded in length and number, since the keys of a body are the caller's too.
 */
function describeIssues(issues: readonly Issue[], where: string): string {
  const parts = issues.slice(0, ISSUES_SHOWN_MAX).map((issue) => {
    const path = (issue.path ?? [])
      .map((p) => (typeof p === 'object' && p !== null ? String(p.key) : String(p)))
      .join('.');
    const field = boundedPath(path) || where;
    return `${field}: ${expectation(issue, path)}`;
  });
  const more = issues.length - parts.length;
  if (more > 0) parts.push(`and ${more} more`);
  return `Invalid ${where}: ${parts.join('; ')}`;
}

function validationIssues(error: ValidationError): Issue[] {
  // Elysia wraps a valibot schema; re-run it for valibot's own issues (kind, expected, path).
  const validator = error.validator as { schema?: unknown; kind?: unknown };
  const schema = (validator?.kind === 'schema' ? validator : validator?.schema) as
    | v.GenericSchema
    | undefined;
  if (schema && (schema as { kind?: unknown }).kind === 'schema') {
    const result = v.safeParse(schema, error.value);
    if (!result.success) return result.issues as unknown as Issue[];
  }
  // TypeBox validators (Elysia's own): paths and the schema's expectation only.
  return error.all.map((e) => {
    const path = 'path' in e && typeof e.path === 'string' ? e.path.split('/').filter(Boolean) : [];
    return { path, message: 'invalid', kind: 'schema', expected: 'a valid value' };
  });
}

export function envelope(code: ErrorCode | string, message: string, requestId: string) {
  return { error: { code, message, requestId } };
}

function respond(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

export function errorHandler(deps: { log: Logger }) {
  return new Elysia({ name: 'error-handler' }).onError(
    { as: 'global' },
    ({ code, error, request, set }) => {
      const info = requestInfo(request, deps.log);
      const id = info.requestId;
      set.headers['x-request-id'] = id;
      const json = (status: number, body: unknown) => {
        info.status = status;
        return respond(status, body);
      };
      // Errors thrown inside a parse hook (body limits, content types) reach us wrapped in
      // Elysia's ParseError; the AppError they carry decides the answer.
      const cause = code === 'PARSE' ? (error as { cause?: unknown }).cause : undefined;
      if (cause instanceof AppError) error = cause;
      if (error instanceof AppError) {
        if (error.status >= 500) info.log.error({ err: error, code: error.code }, error.message);
        return json(error.status, envelope(error.code, error.message, id));
      }
      switch (code) {
        case 'VALIDATION': {
          const where = (error as ValidationError).type ?? 'body';
          const message = describeIssues(validationIssues(error as ValidationError), where);
          if (where === 'response') {
            // Our handler broke its own response schema: a bug to log, not the caller's 422.
            info.log.error({ issues: message }, 'response failed its schema');
            return json(
              errorStatus.INTERNAL,
              envelope('INTERNAL', 'Internal server error (see the log for this request id)', id),
            );
          }
          return json(422, envelope('VALIDATION_FAILED', message, id));
        }
        case 'NOT_FOUND':
          return json(404, envelope('NOT_FOUND', 'No route matches this method and path', id));
        case 'PARSE':
          return json(400, envelope('INVALID_JSON', 'The request body could not be parsed', id));
        case 'INVALID_COOKIE_SIGNATURE':
          return json(400, envelope('BAD_REQUEST', 'Invalid cookie signature', id));
      }
      const status =
        typeof (error as { status?: unknown }).status === 'number'
          ? (error as { status: number }).status
          : 500;
      if (status === 413) {
        return json(413, envelope('PAYLOAD_TOO_LARGE', 'The request body is too large', id));
      }
      // The disk refused a write (full, I/O error): the caller may retry later; /readyz says why.
      const storage = storageFailureReason(error);
      if (storage) {
        info.log.error({ err: error }, 'storage refused a write');
        return json(503, envelope('SERVICE_UNAVAILABLE', `Storage unavailable (${storage})`, id));
      }
      info.log.error({ err: error }, 'unhandled error');
      return json(
        errorStatus.INTERNAL,
        envelope('INTERNAL', 'Internal server error (see the log for this request id)', id),
      );
    },
  );
}
