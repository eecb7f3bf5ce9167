import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type Access, authorize } from '../core/auth';
import { requireId } from '../core/ids';
import { FHIR_JSON_CONTENT_TYPE } from '../core/media';
import { OperationOutcomeError, operationOutcome, tooLong, unauthorized, unavailable } from '../core/outcome';
import type { FhirRequest, FhirResponse } from '../core/request';
import { directBodyOverLimit, MAX_FHIR_DATA_BYTES } from '../limits';
import { logger } from '../logger';
import { routes } from '../routes';
import { type AppDeps, appDeps } from '../wiring';
import { parseCdata } from './audit';
import { type HttpEvent, type HttpResult, toFhirRequest, toHttpResult } from './event';
import { idempotencyKey, runIdempotent } from './idempotency';

export type Operation = (req: FhirRequest, deps: AppDeps) => Promise<FhirResponse>;

interface State {
  started: number;
  res?: FhirResponse;
  cdata?: Record<string, unknown>;
}

/** The one error exit (C7): OperationOutcomes for everything; details only below 500. */
export function errorResult(err: unknown, requestId: string): HttpResult {
  if (err instanceof OperationOutcomeError) {
    return {
      statusCode: err.status,
      headers: { 'Content-Type': FHIR_JSON_CONTENT_TYPE, ...err.headers },
      body: JSON.stringify(operationOutcome('error', err.code, err.message)),
    };
  }
  logger.error('unhandled error', { requestId, error: err as Error });
  return {
    statusCode: 500,
    headers: { 'Content-Type': FHIR_JSON_CONTENT_TYPE },
    body: JSON.stringify(
      operationOutcome('fatal', 'exception', `Internal error; quote request id ${requestId} to support.`),
    ),
  };
}

/**
 * A Lambda handler for one operation: event → FhirRequest → auth (C1, C2) → core → result, with
 * the audit line (C38) written once per request whatever happened.
 */
export function fhirHandler(
  operation: string,
  access: Access,
  op: Operation,
  /** `tenant: false`: the route has no `{organizationId}` (the `$default` route, C40). */
  options: { tenant?: boolean } = {},
) {
  // C41: whether the route table marks this operation as honouring Idempotency-Key.
  const idempotent = routes.some((r) => r.name === operation && r.idempotent === true);
  // Per-invocation facts for the audit line, keyed by the event object middy passes around.
  const state = new WeakMap<HttpEvent, State>();
  return middy<HttpEvent, HttpResult, Error, Context>({
    // Just before the function's timeout, answer 503 + Retry-After rather than middy's 500. The
    // core refuses to start a commit with less than commitReserveMs left (C7), so this fires
    // only when a single storage call outlasts that reserve.
    timeoutEarlyInMillis: 500,
    timeoutEarlyResponse: () => {
      throw unavailable(
        'The request ran out of time before it could be answered. A write cut off this late may have been stored: read the resource before sending it again.',
      );
    },
  })
    .use({
      before: (request) => {
        const s: State = { started: Date.now() };
        state.set(request.event, s);
        const h = request.event.headers ?? {};
        s.cdata = parseCdata(h['log-cdata'], h['log-cdata-format']);
      },
      after: (request) =>
        audit(operation, request.event, state.get(request.event), request.response?.statusCode ?? 200),
      onError: (request) =>
        audit(operation, request.event, state.get(request.event), request.response?.statusCode ?? 500),
    })
    .use({
      onError: (request) => {
        request.response = errorResult(request.error, request.context?.awsRequestId ?? 'local');
      },
    })
    .handler(async (event, context) => {
      const deps = appDeps();
      const req = toFhirRequest(event, deps.appConfig.publicBaseUrl);
      if (access !== 'public' && !req.principal)
        throw unauthorized('A Bearer token is required: send Authorization: Bearer <JWT>.');
      if (options.tenant ?? true) {
        const org = requireId(req.params.organizationId, 'organizationId');
        authorize(req.principal, org, access);
      }
      checkBodySize(req);
      const key = idempotent ? idempotencyKey(req) : undefined;
      const budget = withBudget(deps, context);
      const s = state.get(event);
      if (key !== undefined) {
        const { result, response } = await runIdempotent(operation, key, req, budget, context, () =>
          op(req, budget),
        );
        if (s && response) s.res = response;
        return result;
      }
      const res = await op(req, budget);
      if (s) s.res = res;
      return toHttpResult(req, res);
    });
}

/**
 * C13: every body the function accepts fits through API Gateway and Lambda (functions/limits.ts),
 * so a direct write that works locally works on AWS; above that, 413 naming $upload.
 */
function checkBodySize(req: FhirRequest): void {
  const over = directBodyOverLimit(req.body, req.headers['content-type']);
  if (!over) return;
  throw tooLong(
    over.escaped
      ? `The ${req.headers['content-type']} body takes ${over.size} bytes once escaped as text in the ` +
          `API Gateway event; at most ${over.limit} fit. Send it with a binary type (e.g. ` +
          'application/octet-stream) or use the $upload operation (POST [base]/Binary/$upload).'
      : `The request body is ${over.size} bytes; direct writes take at most ${over.limit} bytes ` +
          `(FHIR JSON: at most ${MAX_FHIR_DATA_BYTES} bytes of data). Upload larger files with the ` +
          '$upload operation (POST [base]/Binary/$upload).',
  );
}

/**
 * The operation's dependencies with this invocation's time budget (C7: refuse before commit
 * rather than time out after). The getters are copied as they are, so nothing is built early.
 */
function withBudget(deps: AppDeps, context: Context | undefined): AppDeps {
  if (typeof context?.getRemainingTimeInMillis !== 'function') return deps;
  const d = Object.defineProperties({}, Object.getOwnPropertyDescriptors(deps)) as AppDeps;
  d.remainingMs = () => context.getRemainingTimeInMillis();
  return d;
}

function audit(operation: string, event: HttpEvent, s: State | undefined, status: number): void {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  logger.info('audit', {
    audit: {
      time: new Date().toISOString(),
      organizationId:
        event.pathParameters?.organizationId ?? /^\/organizations\/([^/]+)\//.exec(event.rawPath ?? '')?.[1],
      subject: typeof claims?.sub === 'string' ? claims.sub : undefined,
      operation,
      resourceId: s?.res?.audit?.resourceId ?? event.pathParameters?.id,
      versionId: s?.res?.audit?.versionId,
      status,
      bytes: s?.res?.audit?.bytes ?? 0,
      latencyMs: s ? Date.now() - s.started : undefined,
      ...(s?.cdata ? { cdata: s.cdata } : {}),
    },
  });
}
