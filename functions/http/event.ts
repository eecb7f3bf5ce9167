import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { principalFromClaims } from '../core/auth';
import type { FhirRequest, FhirResponse } from '../core/request';

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * API Gateway HTTP API (payload v2) event → the core's request. `params` are the contract path's
 * parameters the handler matched (functions/routes.ts) in API Gateway's rawPath, which it has
 * already percent-decoded (a malformed escape stays as sent and fails the id checks, C6). The FHIR
 * base starts with `publicBaseUrl` when configured (custom domain, base-path mapping), else with
 * the request's protocol and host.
 */
export function toFhirRequest(
  event: HttpEvent,
  params: Record<string, string>,
  publicBaseUrl?: string,
): FhirRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const query: Record<string, string[]> = {};
  // rawQueryString keeps repeated parameters (`_lastUpdated=ge…&_lastUpdated=lt…`) apart.
  for (const [k, v] of new URLSearchParams(event.rawQueryString ?? '')) {
    query[k] = [...(query[k] ?? []), v];
  }
  const body =
    event.body === undefined || event.body === null
      ? Buffer.alloc(0)
      : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const proto = headers['x-forwarded-proto'] ?? 'https';
  const host = event.requestContext.domainName ?? headers.host ?? 'localhost';
  const origin = publicBaseUrl ?? `${proto}://${host}`;
  const claims = event.requestContext.authorizer?.jwt?.claims;
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    params,
    query,
    headers,
    body,
    baseUrl: `${origin}/organizations/${params.organizationId ?? ''}/fhir/4`,
    principal: claims ? principalFromClaims(claims as Record<string, unknown>) : undefined,
  };
}

/** The core's response → an HTTP API result; bytes travel base64-encoded, HEAD carries no body. */
export function toHttpResult(req: Pick<FhirRequest, 'method'>, res: FhirResponse): HttpResult {
  const headers = { ...res.headers };
  if (req.method === 'HEAD') {
    // C9: HEAD answers GET's headers, Content-Length included, for FHIR JSON as for raw bytes.
    if (res.json !== undefined)
      headers['Content-Length'] = String(Buffer.byteLength(JSON.stringify(res.json)));
    else if (
      res.bytes !== undefined &&
      !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')
    )
      headers['Content-Length'] = String(res.bytes.length);
    return { statusCode: res.status, headers };
  }
  if (res.json !== undefined) return { statusCode: res.status, headers, body: JSON.stringify(res.json) };
  if (res.bytes !== undefined) {
    return {
      statusCode: res.status,
      headers,
      body: Buffer.from(res.bytes).toString('base64'),
      isBase64Encoded: true,
    };
  }
  return { statusCode: res.status, headers };
}
