import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { FHIR_JSON_CONTENT_TYPE } from '../functions/core/media';
import { operationOutcome } from '../functions/core/outcome';
import type { HttpResult } from '../functions/http/event';
import { verifyToken } from './dev-auth';
import { allowedOrigins } from './provision';
import { matchRoute } from './router';

type Handler = (event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context) => Promise<HttpResult>;

/** API Gateway's payload limit; bigger bodies must use $upload. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;
/** Lambda's synchronous response limit: a response over it is a bug the local server surfaces. */
const MAX_LAMBDA_RESPONSE = 6 * 1024 * 1024;

const handlers = new Map<string, Promise<Handler>>();
function loadHandler(module: string): Promise<Handler> {
  let h = handlers.get(module);
  if (!h) {
    h = import(`../functions/${module}`).then((m: { handler: Handler }) => m.handler);
    handlers.set(module, h);
  }
  return h;
}

function sendOutcome(
  res: ServerResponse,
  status: number,
  code: Parameters<typeof operationOutcome>[1],
  msg: string,
  extra: Record<string, string> = {},
) {
  res.writeHead(status, { 'Content-Type': FHIR_JSON_CONTENT_TYPE, ...extra });
  res.end(JSON.stringify(operationOutcome('error', code, msg)));
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
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
 * Plays API Gateway (HTTP API, payload v2, JWT authorizer) in front of the same handlers Lambda
 * runs: match the route table, verify the dev token, build the event, write the result.
 */
export async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  extraRoutes?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>,
): Promise<void> {
  // Origin-form only: `//x` would otherwise parse as a host (and `//` not at all).
  const url = new URL(`http://local${(req.url ?? '/').startsWith('/') ? req.url : `/${req.url}`}`);
  if (applyCors(req, res)) return;
  if (extraRoutes && (await extraRoutes(req, res, url))) return;
  const method = (req.method ?? 'GET').toUpperCase();
  const match = matchRoute(method, url.pathname);
  if (!match)
    return sendOutcome(
      res,
      404,
      'not-found',
      `No route for ${url.pathname}: the FHIR base is /organizations/{organizationId}/fhir/4.`,
    );
  if (!('route' in match)) {
    return sendOutcome(
      res,
      405,
      'not-supported',
      `${method} is not supported here; allowed: ${match.allowed.join(', ')}.`,
      { Allow: match.allowed.join(', ') },
    );
  }
  const { route, params } = match;

  let claims: Record<string, unknown> | undefined;
  if (route.access !== 'public') {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    try {
      if (!m) throw new Error('missing');
      claims = (await verifyToken(m[1]!)) as Record<string, unknown>;
    } catch (e) {
      const why =
        (e as Error).message === 'missing'
          ? 'A Bearer token is required'
          : 'The Bearer token is invalid or expired';
      return sendOutcome(
        res,
        401,
        'login',
        `${why}: send Authorization: Bearer <JWT> (npm run -s token -- --org ORG).`,
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
  }

  const body = await readBody(req);
  if (body === undefined)
    return sendOutcome(
      res,
      413,
      'too-long',
      'The request body is over 10 MB, the API Gateway limit: use the $upload operation.',
    );

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  headers['x-forwarded-proto'] = 'http';
  const requestId = randomUUID();
  const event: APIGatewayProxyEventV2WithJWTAuthorizer = {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    pathParameters: params,
    body: body.length > 0 ? body.toString('base64') : undefined,
    isBase64Encoded: body.length > 0,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: '127',
      http: {
        method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: `${route.method} ${route.path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims: (claims ?? {}) as Record<string, string>, scopes: [] },
      },
    },
    stageVariables: undefined,
  };
  if (!claims) delete (event.requestContext as Partial<typeof event.requestContext>).authorizer;
  const context = {
    awsRequestId: requestId,
    functionName: route.name,
    getRemainingTimeInMillis: () => 30_000,
  } as unknown as Context;

  let result: HttpResult;
  try {
    result = await (await loadHandler(route.module))(event, context);
  } catch (e) {
    console.error(e);
    return sendOutcome(res, 500, 'exception', 'The handler crashed (see the server log).');
  }
  const out =
    result.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  if ((result.body?.length ?? 0) > MAX_LAMBDA_RESPONSE) {
    return sendOutcome(
      res,
      500,
      'exception',
      `The response (${result.body?.length} bytes) is over Lambda's 6 MB limit.`,
    );
  }
  const outHeaders: Record<string, string | number> = { ...(result.headers as Record<string, string>) };
  if (method !== 'HEAD' && outHeaders['Content-Length'] === undefined)
    outHeaders['Content-Length'] = out.length;
  res.writeHead(result.statusCode ?? 200, outHeaders);
  res.end(method === 'HEAD' ? undefined : out);
}

export function createLocalServer(extraRoutes?: Parameters<typeof handle>[2]): Server {
  return createServer((req, res) => {
    handle(req, res, extraRoutes).catch((e) => {
      console.error(e);
      if (!res.headersSent) sendOutcome(res, 500, 'exception', 'Local server error (see the server log).');
      else res.destroy();
    });
  });
}
