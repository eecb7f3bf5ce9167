import { toFhir } from './binary';
import { versionHeaders } from './conditional';
import { FHIR_JSON_CONTENT_TYPE } from './media';
import { operationOutcome } from './outcome';
import type { VersionRecord } from './ports';
import { preferReturn } from './prefer';
import type { FhirRequest, FhirResponse } from './request';

/* Responses shared by the operations: FHIR JSON bodies and the answer to a committed write. */

/** `[base]/Binary/{id}/_history/{vid}`, the Location of a version (C10). */
export const versionUrl = (req: FhirRequest, r: Pick<VersionRecord, 'id' | 'vid'>) =>
  `${req.baseUrl}/Binary/${r.id}/_history/${r.vid}`;

export const fhirJson = (
  status: number,
  json: unknown,
  headers: Record<string, string> = {},
): FhirResponse => ({
  status,
  headers: { 'Content-Type': FHIR_JSON_CONTENT_TYPE, ...headers },
  json,
});

/** The response to a committed write: C8 for FHIR bodies, always empty for raw ones (C12). */
export function writeResponse(
  req: FhirRequest,
  record: VersionRecord,
  bytes: Uint8Array | 'absent',
  fhirBody: boolean,
): FhirResponse {
  const status = record.created ? 201 : 200;
  const headers: Record<string, string> = { ...versionHeaders(record) };
  if (record.created) headers.Location = versionUrl(req, record);
  const audit = { resourceId: record.id, versionId: String(record.vid), bytes: record.size };
  const prefer = preferReturn(req);
  if (!fhirBody || prefer === 'minimal') return { status, headers, audit };
  if (prefer === 'OperationOutcome') {
    const verb = record.created ? 'Created' : 'Updated';
    return {
      ...fhirJson(
        status,
        operationOutcome(
          'information',
          'informational',
          `${verb} Binary/${record.id}/_history/${record.vid}.`,
        ),
        headers,
      ),
      audit,
    };
  }
  return { ...fhirJson(status, toFhir(record, bytes), headers), audit };
}
