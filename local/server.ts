import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import type { HttpResult } from '../functions/http/event';
import {
  GATEWAY_PAYLOAD_BYTES,
  GATEWAY_TIMEOUT_MS,
  isTextualMediaType,
  LAMBDA_EVENT_BYTES,
  LAMBDA_RESPONSE_BYTES,
} from '../functions/limits';
import { logger } from '../functions/logger';
import { API_FUNCTION_TIMEOUT_SECONDS, defaultRoute, type RouteDef, scopesFor } from '../functions/routes';
import { verifyToken } from './dev-auth';
import { allowedOrigins } from './provision';
import { matchRoute } from './router';

type Handler = (event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context) => Promise<HttpResult>;
type Target = Pick<RouteDef, 'name' | 'module' | 'access'> & { routeKey: string };

const handlers = new Map<string, Promise<Handler>>();
function loadHandler(module: string): Promise<Handler> {
  let h = handlers.get(module);
  if (!h) {
    h = import(`../functions/${module}`).then((m: { handler: Handler }) => m.handler);
    handlers.set(module, h);
  }
  return h;
}

/**
 * What API Gateway answers itself (C40): a JSON `{"message": …}`, which HTTP APIs cannot
 * customise. Each answer is the one AWS gives for the same case:
 * - 401 `Unauthorized` / 403 `Forbidden`: the JWT authorizer (no or bad token / no required scope);
 * - 413 `Request Entity Too Large`: a body over the HTTP API's 10 MB;
 * - 413 `Request Too Long`: an event over Lambda's 6,291,556 bytes (seen on AWS:
 *   github.com/koki-develop/lgtm-generator issue 10);
 * - 500 `Internal Server Error`: the function failed or its response was over 6,291,556 bytes;
 * - 503 `Service Unavailable`: no answer within the 30 s integration timeout
 *   (github.com/anomalyco/sst issue 2232, serverless/serverless issue 11222).
 */
function gatewayAnswer(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ message });
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/**
 * C38 for requests no function sees (#13 item 8): the local stand-in of the stage's access log
 * line, in the audit line's shape, so every request leaves exactly one line.
 */
function gatewayAudit(
  path: string,
  target: Target | undefined,
  status: number,
  started: number,
  sub?: string,
): void {
  logger.info('audit', {
    audit: {
      time: new Date().toISOString(),
      organizationId: /^\/organizations\/([^/]+)\//.exec(path)?.[1],
      subject: sub,
      operation: target?.name ?? 'gateway',
      status,
      bytes: 0,
      latencyMs: Date.now() - started,
      answeredBy: 'gateway',
    },
  });
}

/** The declared body is over the HTTP API's limit: refuse before reading it (#13 item 10). */
function declaredTooLarge(req: IncomingMessage): boolean {
  const declared = Number(req.headers['content-length'] ?? 0);
  return Number.isFinite(declared) && declared > GATEWAY_PAYLOAD_BYTES;
}

/** Reads at most the HTTP API's limit; undefined when the body goes past it. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/**
 * CORS for browsers on ALLOWED_ORIGINS (what the HTTP API's CORS configuration does on AWS):
 * answers preflights itself, before auth, and marks every other response. True = answered.
 */
function applyCors(req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  const allowed = allowedOrigins();
  if (!allowed.includes('*') && !allowed.includes(origin)) return false;
  res.setHeader('Access-Control-Allow-Origin', allowed.includes('*') ? '*' : origin);
  res.setHeader('Vary', 'Origin');
  res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Last-Modified, Content-Location');
  if (req.method !== 'OPTIONS' || !req.headers['access-control-request-method']) return false;
  res.writeHead(204, {
    'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
    'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '*',
    'Access-Control-Max-Age': '600',
  });
  res.end();
  return true;
}

/**
 * Claims as API Gateway's JWT authorizer hands them to the function: every value a string,
 * arrays as `[a b]`.
 */
function flattenClaims(claims: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(claims)) {
    out[k] = Array.isArray(v)
      ? `[${v.join(' ')}]`
      : typeof v === 'object' && v !== null
        ? JSON.stringify(v)
        : String(v);
  }
  return out;
}

/** The token's scopes (`scope` or `scp`), as the authorizer reads them. */
function tokenScopes(claims: Record<string, unknown>): string[] {
  const raw = [claims.scope, claims.scp].flat();
  return raw.flatMap((s) => (typeof s === 'string' ? s.split(' ') : [])).filter(Boolean);
}

/**
 * Plays API Gateway (HTTP API, payload v2, JWT authorizer) in front of the same handlers Lambda
 * runs, with its limits, encodings and own answers (C40; functions/limits.ts has the numbers).
 */
export async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  extraRoutes?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>,
): Promise<void> {
  const started = Date.now();
  // Origin-form only: `//x` would otherwise parse as a host (and `//` not at all).
  const url = new URL(`http://local${(req.url ?? '/').startsWith('/') ? req.url : `/${req.url}`}`);
  if (applyCors(req, res)) return;
  if (extraRoutes && (await extraRoutes(req, res, url))) return;
  const method = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname;
  const match = matchRoute(method, path);
  const target: Target = match
    ? { ...match.route, routeKey: `${match.route.method} ${match.route.path}` }
    : { ...defaultRoute, routeKey: '$default' };

  if (declaredTooLarge(req)) {
    gatewayAudit(path, target, 413, started);
    return gatewayAnswer(res, 413, 'Request Entity Too Large', { Connection: 'close' });
  }

  let claims: Record<string, unknown> | undefined;
  if (target.access !== 'public') {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    try {
      if (!m) throw new Error('missing');
      claims = (await verifyToken(m[1]!)) as Record<string, unknown>;
    } catch (e) {
      gatewayAudit(path, target, 401, started);
      // RFC 6750: a bare challenge without credentials, the error code with bad ones.
      const challenge = (e as Error).message === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"';
      return gatewayAnswer(res, 401, 'Unauthorized', { 'WWW-Authenticate': challenge });
    }
    const held = tokenScopes(claims);
    if (!scopesFor(target.access).some((s) => held.includes(s))) {
      gatewayAudit(path, target, 403, started, typeof claims.sub === 'string' ? claims.sub : undefined);
      return gatewayAnswer(res, 403, 'Forbidden', {
        'WWW-Authenticate': 'Bearer error="insufficient_scope"',
      });
    }
  }

  const body = await readBody(req);
  if (body === undefined) {
    gatewayAudit(path, target, 413, started);
    return gatewayAnswer(res, 413, 'Request Entity Too Large', { Connection: 'close' });
  }

  const event = gatewayEvent(
    {
      method,
      url,
      headers: req.headersDistinct as Record<string, string[]>,
      httpVersion: req.httpVersion,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    },
    target.routeKey,
    match?.params ?? {},
    body,
    claims,
  );
  // Lambda measures the event as the JSON it is sent as.
  if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_EVENT_BYTES) {
    gatewayAudit(path, target, 413, started);
    return gatewayAnswer(res, 413, 'Request Too Long');
  }
  // The function's clock starts when the gateway hands it the event, as on Lambda.
  // LOCAL_FUNCTION_TIMEOUT_SECONDS shortens it (tests of the time budget, C7/C30).
  const timeoutMs = Number(process.env.LOCAL_FUNCTION_TIMEOUT_SECONDS || API_FUNCTION_TIMEOUT_SECONDS) * 1000;
  const deadline = Date.now() + timeoutMs;
  const context = {
    awsRequestId: event.requestContext.requestId,
    functionName: target.name,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  } as unknown as Context;

  // Whichever comes first: Lambda ends the function at its timeout (a function error: 500), or
  // the HTTP API stops waiting at 30 s (503). The function's own work is not stopped here.
  let timer: NodeJS.Timeout | undefined;
  let result: HttpResult | 'timeout';
  try {
    result = await Promise.race([
      loadHandler(target.module).then((h) => h(event, context)),
      new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), Math.min(timeoutMs, GATEWAY_TIMEOUT_MS));
      }),
    ]);
  } catch (e) {
    console.error(e);
    return gatewayAnswer(res, 500, 'Internal Server Error');
  } finally {
    clearTimeout(timer);
  }
  if (result === 'timeout') {
    console.error(`${target.name}: no answer within ${Math.min(timeoutMs, GATEWAY_TIMEOUT_MS)} ms`);
    return timeoutMs < GATEWAY_TIMEOUT_MS
      ? gatewayAnswer(res, 500, 'Internal Server Error')
      : gatewayAnswer(res, 503, 'Service Unavailable');
  }
  if (Buffer.byteLength(JSON.stringify(result)) > LAMBDA_RESPONSE_BYTES) {
    console.error(`${target.name}: response over Lambda's ${LAMBDA_RESPONSE_BYTES} bytes`);
    return gatewayAnswer(res, 500, 'Internal Server Error');
  }
  writeResult(res, method, result);
}

/** What the gateway event is built from: the request as received. */
export interface GatewayRequest {
  method: string;
  url: URL;
  /** Header values by lower-case name, repeated headers as several values. */
  headers: Record<string, string[]>;
  httpVersion: string;
  sourceIp: string;
}

/**
 * The API Gateway HTTP API (payload format 2.0) event of a request, as the gateway builds it:
 * exported for tests that measure it and for invoking Lambda bundles the way AWS does.
 */
export function gatewayEvent(
  req: GatewayRequest,
  routeKey: string,
  params: Record<string, string>,
  body: Buffer,
  claims: Record<string, unknown> | undefined,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const { method, url } = req;
  // Repeated headers and query parameters are joined with commas; cookies get their own field.
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (k !== 'cookie') headers[k] = v.join(',');
  headers['x-forwarded-proto'] = 'http';
  const cookies = req.headers.cookie?.join('; ').split(/;\s*/).filter(Boolean);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  // The HTTP API passes text types as text and base64-encodes all others (functions/limits.ts).
  const text = isTextualMediaType(headers['content-type']);
  const requestId = randomUUID();
  const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    queryStringParameters: url.search.length > 1 ? query : undefined,
    pathParameters: Object.keys(params).length ? params : undefined,
    body: body.length > 0 ? body.toString(text ? 'utf8' : 'base64') : undefined,
    isBase64Encoded: body.length > 0 && !text,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: '127',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims: flattenClaims(claims ?? {}), scopes: [] },
      },
    },
    stageVariables: undefined,
  };
  if (!claims) delete (event.requestContext as Partial<typeof event.requestContext>).authorizer;
  return event;
}

/** The function's result as API Gateway sends it on: base64 bodies decoded, HEAD without body. */
function writeResult(res: ServerResponse, method: string, result: HttpResult): void {
  const out =
    result.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  const outHeaders: Record<string, string | number | string[]> = {
    ...(result.headers as Record<string, string>),
  };
  if (result.cookies?.length) outHeaders['Set-Cookie'] = result.cookies;
  if (method !== 'HEAD' && outHeaders['Content-Length'] === undefined)
    outHeaders['Content-Length'] = out.length;
  // Keep the CORS `Vary: Origin` next to the handler's own Vary (C16 reads vary by Accept).
  const corsVary = res.getHeader('Vary');
  if (corsVary !== undefined && outHeaders.Vary !== undefined)
    outHeaders.Vary = `${corsVary}, ${outHeaders.Vary}`;
  res.writeHead(result.statusCode ?? 200, outHeaders);
  res.end(method === 'HEAD' ? undefined : out);
}

export interface LocalServerOptions {
  /**
   * Time a client has to send a whole request (headers and body); a slower one gets 408 and the
   * connection is closed (#13 item 10). @default 60000
   */
  requestTimeoutMs?: number;
}

export function createLocalServer(
  extraRoutes?: Parameters<typeof handle>[2],
  options: LocalServerOptions = {},
): Server {
  const requestTimeout = options.requestTimeoutMs ?? 60_000;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, extraRoutes).catch((e) => {
      // The client went away (or was cut off for being slow): nobody to answer, nothing to log.
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET' && req.destroyed) return;
      console.error(e);
      if (!res.headersSent) gatewayAnswer(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  };
  const server = createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(20_000, requestTimeout),
      connectionsCheckingInterval: Math.min(30_000, requestTimeout / 2),
    },
    onRequest,
  );
  // `Expect: 100-continue`: no go-ahead for a body that will be refused (#13 item 10).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (declaredTooLarge(req)) {
      gatewayAudit(new URL(req.url ?? '/', 'http://local').pathname, undefined, 413, Date.now());
      return gatewayAnswer(res, 413, 'Request Entity Too Large', { Connection: 'close' });
    }
    res.writeContinue();
    onRequest(req, res);
  });
  return server;
}
