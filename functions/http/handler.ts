import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { authorize, type Permission } from '../core/auth';
import { fallback } from '../core/fallback';
import { requireId } from '../core/ids';
import { FHIR_JSON_CONTENT_TYPE } from '../core/media';
import {
  badRequest,
  OperationOutcomeError,
  operationOutcome,
  tooLong,
  unauthorized,
  unavailable,
} from '../core/outcome';
import type { FhirRequest, FhirResponse } from '../core/request';
import { RouteMatcher } from '../core/route-match';
import { directBodyOverLimit, MAX_FHIR_DATA_BYTES } from '../limits';
import { logger } from '../logger';
import { contractRoutes, defaultRoute, type OperationDef, operationNamed } from '../routes';
import { type AppDeps, appDeps } from '../wiring';
import { parseCdata } from './audit';
import { type HttpEvent, type HttpResult, toFhirRequest, toHttpResult } from './event';
import { idempotencyKey, runIdempotent } from './idempotency';

export type Operation = (req: FhirRequest, deps: AppDeps) => Promise<FhirResponse>;

interface State {
  started: number;
  /** The operation the request was found to be (C38 `operation`). */
  operation?: string;
  params?: Record<string, string>;
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

/** What a request turned out to be: the operation, its parameters and what it needs. */
interface Resolved {
  name: string;
  run: Operation;
  permission: Permission;
  /** False for the `$default` answers (no `{organizationId}` to authorize against, C40). */
  tenant: boolean;
  /** C41: the table marks the operation as honouring Idempotency-Key. */
  idempotent?: boolean;
  params: Record<string, string>;
}

/** The `$default` route's answers (C40), from the contract URLs of the table. */
const fallbackOf = (): Resolved => ({
  name: defaultRoute.name,
  run: fallback(contractRoutes()),
  permission: 'public',
  tenant: false,
  params: {},
});

/**
 * The Lambda handler of one module: it serves the operations named in `ops`, whose URLs,
 * permission and name the table declares (functions/routes.ts). API Gateway routes `$…` segments
 * as path variables, so the function decides which operation a request is by matching its
 * (already percent-decoded) rawPath against the contract URLs: `%24upload` arrives as `$upload`,
 * and a path none of them declares gets what the `$default` route would answer (404/405/501).
 * Operations whose gateway routes coincide share a module; the authorizer then accepts the union
 * of their scopes, and each request is authorized here with its own operation's permission (C2).
 */
export function fhirHandler(ops: Record<string, Operation>) {
  const served = Object.entries(ops).flatMap(([name, run]) => {
    const def = operationNamed(name);
    return def.routes.flatMap(({ methods, path }) => methods.map((method) => ({ method, path, def, run })));
  });
  // `$…` segments are operations, never ids (C6): GET `/Binary/$meta` reaches read's function
  // through `GET /Binary/{id}` and gets the `$default` answer (501), not a 400 for a bad id.
  const matcher = new RouteMatcher(served, { literalOperations: true });
  const otherwise = fallbackOf();
  const handler = lambdaHandler((event) => {
    // A prefix before the contract path (a custom domain's API mapping) is skipped.
    const raw = event.rawPath ?? '/';
    const at = raw.indexOf('/organizations/');
    const m = matcher.match(event.requestContext.http.method.toUpperCase(), at > 0 ? raw.slice(at) : raw);
    if (!m) return otherwise;
    // A `%` left in a decoded parameter is a malformed escape (`%ZZ`, a lone `%E2`) or an
    // encoded `%`; no id, version, upload or organization may contain one (C6).
    for (const [name, value] of Object.entries(m.params))
      if (value.includes('%'))
        throw badRequest(
          `The ${name} in the URL has a malformed percent-escape: encode "%" as %25 and use UTF-8 escapes.`,
          'value',
        );
    const def: OperationDef = m.route.def;
    return {
      name: def.name,
      run: m.route.run,
      permission: def.permission,
      tenant: true,
      idempotent: def.idempotent === true,
      params: m.params,
    };
  });
  // The names it serves, so a test can hold each module to its operations in the table.
  return Object.assign(handler, { operations: Object.keys(ops) });
}

/** The `$default` route's function (C40): 404, 405 and 501 as OperationOutcomes. */
export const defaultRouteHandler = () => lambdaHandler(fallbackOf);

/**
 * event → operation → FhirRequest → auth (C1, C2) → core → result, with the audit line (C38)
 * written once per request whatever happened.
 */
function lambdaHandler(resolve: (event: HttpEvent) => Resolved) {
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
      after: (request) => audit(request.event, state.get(request.event), request.response?.statusCode ?? 200),
      onError: (request) =>
        audit(request.event, state.get(request.event), request.response?.statusCode ?? 500),
    })
    .use({
      onError: (request) => {
        request.response = errorResult(request.error, request.context?.awsRequestId ?? 'local');
      },
    })
    .handler(async (event, context) => {
      const s = state.get(event);
      const op = resolve(event);
      if (s) {
        s.operation = op.name;
        s.params = op.params;
      }
      const deps = appDeps();
      const req = toFhirRequest(event, op.params, deps.appConfig.publicBaseUrl);
      if (op.permission !== 'public' && !req.principal)
        throw unauthorized('A Bearer token is required: send Authorization: Bearer <JWT>.');
      if (op.tenant) {
        const org = requireId(req.params.organizationId, 'organizationId');
        authorize(req.principal, org, op.permission);
      }
      checkBodySize(req);
      const key = op.idempotent ? idempotencyKey(req) : undefined;
      const budget = withBudget(deps, context);
      if (key !== undefined) {
        const { result, response } = await runIdempotent(op.name, key, req, budget, context, () =>
          op.run(req, budget),
        );
        if (s && response) s.res = response;
        return result;
      }
      const res = await op.run(req, budget);
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

function audit(event: HttpEvent, s: State | undefined, status: number): void {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  logger.info('audit', {
    audit: {
      time: new Date().toISOString(),
      organizationId:
        s?.params?.organizationId ?? /^\/organizations\/([^/]+)\//.exec(event.rawPath ?? '')?.[1],
      subject: typeof claims?.sub === 'string' ? claims.sub : undefined,
      operation: s?.operation ?? defaultRoute.name,
      resourceId: s?.res?.audit?.resourceId ?? s?.params?.id,
      versionId: s?.res?.audit?.versionId,
      status,
      bytes: s?.res?.audit?.bytes ?? 0,
      latencyMs: s ? Date.now() - s.started : undefined,
      ...(s?.cdata ? { cdata: s.cdata } : {}),
    },
  });
}
