import { notFound, notSupported } from './outcome';
import type { FhirRequest, FhirResponse } from './request';
import { RouteMatcher, type RoutePattern } from './route-match';

const BASE = /^\/organizations\/([^/]+)\/fhir\/4(\/.*)?$/;

/**
 * C40: what the `$default` route answers, for every request no route of the table matches, so
 * clients get OperationOutcomes instead of API Gateway's `{"message":"Not Found"}`:
 * a path some route serves with other methods → 405 with `Allow` (an OPTIONS request → 204 with
 * `Allow`); an interaction FHIR defines that this server does not offer (batch/transaction,
 * system search and history, unknown operations) → 501 (R4 http.html); anything else → 404.
 */
export function fallback(routes: readonly RoutePattern[]) {
  // The contract's paths: `GET /Binary/$upload` is the `$upload` path (405), not a read of an id.
  const matcher = new RouteMatcher(routes, { literalOperations: true });
  const operations = [
    ...new Set(routes.flatMap((r) => r.path.split('/').filter((s) => s.startsWith('$')))),
  ].sort();
  return async (req: FhirRequest): Promise<FhirResponse> => {
    const path = req.path ?? '/';
    const m = BASE.exec(path);
    const rel = (m?.[2] ?? '').replace(/\/$/, '');
    const segments = rel.split('/').slice(1);
    const op = segments.find((s) => s.startsWith('$') || s.toLowerCase().startsWith('%24'));
    if (m && op !== undefined && !operations.includes(decodeOp(op)))
      throw notSupported(
        501,
        `The operation ${decodeOp(op)} is not supported here; this server offers ${operations.join(', ') || 'no operations'}.`,
      );
    const allowed = matcher.allowed(path);
    if (allowed.length > 0) {
      const allow = [...allowed, 'OPTIONS'].join(', ');
      if (req.method === 'OPTIONS') return { status: 204, headers: { Allow: allow } };
      throw notSupported(405, `${req.method} is not supported on ${path}; allowed: ${allowed.join(', ')}.`, {
        Allow: allow,
      });
    }
    if (!m) throw notFound(`No route for ${path}: the FHIR base is /organizations/{organizationId}/fhir/4.`);
    if (rel === '') {
      if (req.method === 'POST')
        throw notSupported(
          501,
          'Batch and transaction Bundles (POST [base]) are not supported: send each request on its own.',
        );
      if (req.method === 'GET' || req.method === 'HEAD')
        throw notSupported(
          501,
          'System-level search (GET [base], GET [base]?_type=…) is not supported: search Binary with GET [base]/Binary?….',
        );
    }
    if (rel === '/_history')
      throw notSupported(
        501,
        'System-level history (GET [base]/_history) is not supported: use GET [base]/Binary/_history.',
      );
    if (segments[0] !== undefined && segments[0] !== 'Binary' && /^[A-Z][A-Za-z]+$/.test(segments[0]))
      throw notFound(`The resource type ${segments[0]} is not supported: this server serves Binary only.`);
    throw notFound(
      `No route for ${req.method} ${path}: see GET [base]/metadata for what this server serves.`,
    );
  };
}

function decodeOp(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
