import type { OperationOutcome } from 'fhir/r4';

/** FHIR issue codes this service uses (http://hl7.org/fhir/R4/valueset-issue-type.html). */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'value'
  | 'required'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'not-supported'
  | 'conflict'
  | 'deleted'
  | 'too-long'
  | 'business-rule'
  | 'processing'
  | 'exception'
  | 'transient'
  | 'informational'
  | 'throttled';

/**
 * The one error type of the core: an HTTP status and an OperationOutcome issue (C7).
 * Handlers throw it; the HTTP layer's single error exit turns it into a response.
 */
export class OperationOutcomeError extends Error {
  constructor(
    readonly status: number,
    readonly code: IssueCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'OperationOutcomeError';
  }
}

export function operationOutcome(
  severity: 'fatal' | 'error' | 'warning' | 'information',
  code: IssueCode,
  diagnostics: string,
): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

export const badRequest = (msg: string, code: IssueCode = 'invalid') =>
  new OperationOutcomeError(400, code, msg);
export const unauthorized = (msg: string) =>
  new OperationOutcomeError(401, 'login', msg, { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (msg: string) => new OperationOutcomeError(403, 'forbidden', msg);
export const notFound = (msg: string) => new OperationOutcomeError(404, 'not-found', msg);
export const gone = (msg: string) => new OperationOutcomeError(410, 'deleted', msg);
export const notSupported = (status: 405 | 406 | 415 | 501, msg: string, headers?: Record<string, string>) =>
  new OperationOutcomeError(status, 'not-supported', msg, headers);
export const conflict = (msg: string) => new OperationOutcomeError(409, 'conflict', msg);
export const preconditionFailed = (msg: string) => new OperationOutcomeError(412, 'conflict', msg);
export const tooLong = (msg: string) => new OperationOutcomeError(413, 'too-long', msg);
export const unprocessable = (msg: string, code: IssueCode = 'processing') =>
  new OperationOutcomeError(422, code, msg);
/** 503 with Retry-After: nothing was done, and the same request can simply be sent again. */
export const unavailable = (msg: string, retryAfterSeconds = 1) =>
  new OperationOutcomeError(503, 'transient', msg, { 'Retry-After': String(retryAfterSeconds) });
