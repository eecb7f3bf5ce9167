/**
 * The framework-free request/response the core works with. The HTTP layer maps API Gateway
 * (payload v2) events to these and back; nothing here knows about Lambda or AWS.
 */

/** Who is calling, from the verified token's claims (C2). */
export interface Principal {
  sub: string;
  /** Tenants the token may act for; '*' means any. */
  organizations: '*' | string[];
  scopes: string[];
}

export interface FhirRequest {
  /** Upper-case HTTP method; HEAD is passed through so handlers can answer it like GET (C9). */
  method: string;
  /** The request path as sent (API Gateway's `rawPath`). */
  path?: string;
  /** Path parameters from the route table (`organizationId`, `id`, `vid`, …). */
  params: Record<string, string>;
  /** Query parameters, each possibly repeated. */
  query: Record<string, string[]>;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Uint8Array;
  /** Absolute FHIR base of this tenant: `https://host/organizations/{org}/fhir/4` (C1). */
  baseUrl: string;
  principal?: Principal;
}

export interface FhirResponse {
  status: number;
  headers: Record<string, string>;
  /** A JSON body (a FHIR resource or an upload-protocol document). */
  json?: unknown;
  /** A raw body (Binary content). */
  bytes?: Uint8Array;
  /** What the audit line records of this response (C38). */
  audit?: AuditFacts;
}

/** Facts a handler reports for the audit line (C38); never data or secrets. */
export interface AuditFacts {
  resourceId?: string;
  versionId?: string;
  bytes?: number;
}

export function header(req: FhirRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return v === undefined || v === '' ? undefined : v;
}

export function queryOne(req: FhirRequest, name: string): string | undefined {
  return req.query[name]?.[0];
}
