import { requireReference } from './binary';
import { parseJsonBody } from './json';
import { mediaType, requireMediaType } from './media';
import { badRequest, notSupported } from './outcome';
import { type FhirRequest, header } from './request';
import type { UploadStartRequest } from './upload-api';

/** What a client declares when it starts an `$upload` (C28), checked. */
export function parseStartBody(req: FhirRequest): UploadStartRequest {
  const ct = mediaType(header(req, 'content-type'));
  if (ct !== 'application/json' && ct !== 'application/fhir+json') {
    throw notSupported(415, 'Send the $upload request as application/json.');
  }
  const json = parseJsonBody(req.body, 'The $upload request');
  if (json === undefined) throw badRequest('The $upload request is not valid JSON.', 'structure');
  const body = json.value;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('The $upload request must be a JSON object {"contentType", "size", …}.', 'structure');
  const b = body as Record<string, unknown>;
  const known = new Set(['contentType', 'size', 'securityContext', 'sha256', 'partSize']);
  for (const k of Object.keys(b))
    if (!known.has(k))
      throw badRequest(`Unknown member "${k}": use contentType, size, securityContext, sha256, partSize.`);
  if (typeof b.contentType !== 'string' || mediaType(b.contentType) === undefined)
    throw badRequest(
      '"contentType" is required: the MIME type of the file, e.g. "application/pdf".',
      'required',
    );
  requireMediaType(b.contentType, '"contentType"');
  if (typeof b.size !== 'number' || !Number.isSafeInteger(b.size) || b.size < 1)
    throw badRequest(
      '"size" is required: the exact file size in bytes, a positive integer (empty files: use a direct create).',
      'required',
    );
  let securityContext: string | undefined;
  if (b.securityContext !== undefined) {
    const sc = b.securityContext;
    if (typeof sc === 'string' && sc !== '') securityContext = sc;
    else if (sc && typeof sc === 'object' && typeof (sc as { reference?: unknown }).reference === 'string')
      securityContext = (sc as { reference: string }).reference;
    else throw badRequest('"securityContext" must be a reference such as "Patient/123".', 'value');
    requireReference(securityContext, '"securityContext"');
  }
  if (
    b.sha256 !== undefined &&
    (typeof b.sha256 !== 'string' || Buffer.from(b.sha256, 'base64').length !== 32 || b.sha256.length !== 44)
  ) {
    throw badRequest(
      '"sha256" must be the base64 (44 characters) SHA-256 digest of the whole file.',
      'value',
    );
  }
  if (b.partSize !== undefined && typeof b.partSize !== 'number')
    throw badRequest('"partSize" must be a number of bytes (at least 5 MiB).', 'value');
  return {
    contentType: b.contentType,
    size: b.size,
    securityContext,
    sha256: b.sha256 as string | undefined,
    partSize: b.partSize as number | undefined,
  };
}
