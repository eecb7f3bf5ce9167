import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { authorize } from '../core/auth';
import { requireId } from '../core/ids';
import { FHIR_JSON_CONTENT_TYPE } from '../core/media';
import { badRequest, notFound, OperationOutcomeError, operationOutcome, unauthorized } from '../core/outcome';
import type { FhirRequest, FhirResponse } from '../core/request';
import { logger } from '../logger';
import { type OperationDef, operationNamed, type PathMatcher, pathMatcher } from '../routes';
import { type AppDeps, appDeps } from '../wiring';
import { parseCdata } from './audit';
import { type HttpEvent, type HttpResult, toFhirRequest, toHttpResult } from './event';

export type Operation = (req: FhirRequest, deps: AppDeps) => Promise<FhirResponse>;

interface State {
  started: number;
  /** The operation the request matched (C38 `operation`). */
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

interface Served {
  def: OperationDef;
  run: Operation;
  method: string;
  matcher: PathMatcher;
}

/**
 * The operations a module serves, as the route table declares them (functions/routes.ts), most
 * specific path first. Throws at load for a name the table lacks.
 */
function servedBy(ops: Record<string, Operation>): Served[] {
  return Object.entries(ops)
    .flatMap(([name, run]) => {
      const def = operationNamed(name);
      return def.routes.flatMap(({ methods, path }) =>
        methods.map((method) => ({ def, run, method, matcher: pathMatcher(path) })),
      );
    })
    .sort((a, b) => b.matcher.literals - a.matcher.literals);
}

/**
 * Which operation a request is, from its method and path. API Gateway routes `$…` segments as
 * path variables (functions/routes.ts), so the literal segment is checked here: anything else the
 * gateway route let through is a 404 OperationOutcome, as it would be without that route. The path
 * is API Gateway's rawPath, already percent-decoded (`%24upload` arrives as `$upload`); a prefix
 * before the contract path (a custom domain's API mapping) is skipped.
 */
export function matchOperation(
  served: Served[],
  method: string,
  rawPath: string,
): { served: Served; params: Record<string, string> } {
  const at = rawPath.indexOf('/organizations/');
  const path = at > 0 ? rawPath.slice(at) : rawPath;
  for (const s of served) {
    if (s.method !== method) continue;
    const params = s.matcher.match(path);
    if (!params) continue;
    // API Gateway has decoded the path; a `%` left in a parameter is a malformed escape (`%ZZ`,
    // a lone `%E2`) or an encoded `%`, and no id, version or organization may contain one (C6).
    for (const [name, value] of Object.entries(params))
      if (value.includes('%'))
        throw badRequest(
          `The ${name} in the URL has a malformed percent-escape: encode "%" as %25 and use UTF-8 escapes.`,
          'value',
        );
    return { served: s, params };
  }
  throw notFound(`No ${method} operation at ${path}: see the CapabilityStatement at [base]/metadata.`);
}

/**
 * The Lambda handler of one module: it serves the operations named in `ops` (their routes,
 * permission and name come from functions/routes.ts): event → operation → FhirRequest → auth
 * (C1, C2) → core → result, with the audit line (C38) written once per request whatever happened.
 */
export function fhirHandler(ops: Record<string, Operation>) {
  const served = servedBy(ops);
  // Per-invocation facts for the audit line, keyed by the event object middy passes around.
  const state = new WeakMap<HttpEvent, State>();
  return middy<HttpEvent, HttpResult, Error, Context>()
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
      const { served: op, params } = matchOperation(
        served,
        event.requestContext.http.method.toUpperCase(),
        event.rawPath,
      );
      if (s) {
        s.operation = op.def.name;
        s.params = params;
      }
      const deps = appDeps();
      const req = toFhirRequest(event, params, deps.appConfig.publicBaseUrl);
      const permission = op.def.permission;
      if (permission !== 'public' && !req.principal)
        throw unauthorized('A Bearer token is required: send Authorization: Bearer <JWT>.');
      const org = requireId(req.params.organizationId, 'organizationId');
      authorize(req.principal, org, permission);
      const res = await op.run(req, withBudget(deps, context));
      if (s) s.res = res;
      return toHttpResult(req, res);
    });
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
      organizationId: s?.params?.organizationId ?? event.pathParameters?.organizationId,
      subject: typeof claims?.sub === 'string' ? claims.sub : undefined,
      operation: s?.operation ?? 'none',
      resourceId: s?.res?.audit?.resourceId ?? s?.params?.id,
      versionId: s?.res?.audit?.versionId,
      status,
      bytes: s?.res?.audit?.bytes ?? 0,
      latencyMs: s ? Date.now() - s.started : undefined,
      ...(s?.cdata ? { cdata: s.cdata } : {}),
    },
  });
}
