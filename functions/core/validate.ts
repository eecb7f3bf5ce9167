import { requireId } from './ids';
import { isFhirJsonType, mediaType, parseFhirBody, requireJsonFormat } from './media';
import { readWriteBody } from './operations';
import { notSupported, OperationOutcomeError, operationOutcome } from './outcome';
import type { CoreDeps } from './ports';
import type { FhirRequest, FhirResponse } from './request';
import { header } from './request';
import { fhirJson } from './response';

/**
 * POST [base]/Binary/$validate (FHIR `resource-operation-validate`): runs the checks a create
 * would (C11, C13, C31 and the element rules) on a Binary sent as FHIR JSON, or inside a
 * Parameters resource's `resource` part, and stores nothing. The answer is 200 with an
 * OperationOutcome: `information` when the Binary would be accepted, else the error the create
 * would have answered (its code and diagnostics).
 */
export async function validateBinary(req: FhirRequest, deps: CoreDeps): Promise<FhirResponse> {
  requireId(req.params.organizationId, 'organizationId');
  requireJsonFormat(req);
  const ct = header(req, 'content-type');
  if (!isFhirJsonType(ct))
    throw notSupported(
      415,
      `$validate takes a Binary (or Parameters) as application/fhir+json, not ${mediaType(ct) ?? 'no Content-Type'}.`,
    );
  const body = unwrapParameters(req);
  try {
    if (parseFhirBody(body) === undefined)
      return outcome(
        'error',
        'invalid',
        'The body is not a Binary resource: $validate here validates Binary only.',
      );
    readWriteBody(body, deps);
  } catch (e) {
    if (e instanceof OperationOutcomeError && e.status < 500) return outcome('error', e.code, e.message);
    throw e;
  }
  return outcome('information', 'informational', 'The Binary is valid: a create with it would be accepted.');
}

const outcome = (...a: Parameters<typeof operationOutcome>) => ({
  ...fhirJson(200, operationOutcome(...a)),
  audit: {},
});

/** `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{…}}]}` → a request carrying that resource. */
function unwrapParameters(req: FhirRequest): FhirRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(req.body).toString('utf8'));
  } catch {
    return req; // parseFhirBody reports the JSON error
  }
  const p = parsed as { resourceType?: unknown; parameter?: { name?: unknown; resource?: unknown }[] };
  if (p?.resourceType !== 'Parameters' || !Array.isArray(p.parameter)) return req;
  const resource = p.parameter.find((x) => x?.name === 'resource')?.resource;
  if (resource === undefined) return req;
  return { ...req, body: new Uint8Array(Buffer.from(JSON.stringify(resource))) };
}
