import { randomUUID } from 'node:crypto';
import { type BinaryContent, binaryFromFhir, binaryFromRaw, isReference, toFhir } from './binary';
import { ifMatchVid, notModified, parseRange, versionHeaders } from './conditional';
import { existingMatch, ifNoneExistCriteria } from './conditional-create';
import { parseVid, requireId } from './ids';
import { isMediaType, parseFhirBody, requireJsonFormat, wantsFhirJson } from './media';
import { badRequest, gone, notFound, OperationOutcomeError, unprocessable } from './outcome';
import type { CoreDeps, VersionRecord, WriteMethod } from './ports';
import type { QueryDeps } from './queries';
import type { FhirRequest, FhirResponse } from './request';
import { header } from './request';
import { fhirJson, writeResponse } from './response';
import { commitVersion, directSizeCheck, discardStaged, stageBytes } from './write';

/** Parses a direct write's body into content (C11) with the C13 size limit. */
export function readWriteBody(req: FhirRequest, deps: CoreDeps): { content: BinaryContent; fhir: boolean } {
  const checkSize = directSizeCheck(deps);
  const fhirBody = parseFhirBody(req);
  if (fhirBody) {
    const content = binaryFromFhir(fhirBody, checkSize, deps.config.maxResourceBytes);
    if (content.dataAbsent) throw dataLeftOut(req, deps.config.maxDirectBytes);
    return { content, fhir: true };
  }
  checkSize(req.body.length);
  const ct = header(req, 'content-type')!;
  return { content: binaryFromRaw(ct, header(req, 'x-security-context'), req.body), fhir: false };
}

/**
 * C31: a Binary whose data was left out (read over 4 MiB as FHIR JSON, or from a Bundle entry)
 * and sent back unchanged would otherwise be stored with no bytes at all.
 */
function dataLeftOut(req: FhirRequest, maxDirectBytes: number) {
  const target =
    req.params.id === undefined ? '[base]/Binary/{id}' : `${req.baseUrl}/Binary/${req.params.id}`;
  return unprocessable(
    'Binary.data is absent and _data carries the data-absent-reason extension: the data was left out ' +
      '(C31), so storing this Binary would erase its content. To change contentType, securityContext or ' +
      `other elements without the bytes, send a JSON Patch (PATCH ${target}, Content-Type: ` +
      `application/json-patch+json); to replace the content, send it in data (up to ${maxDirectBytes} ` +
      'bytes), as a raw body, or through $upload.',
    'business-rule',
  );
}

/** C10–C13: POST [base]/Binary, conditional with If-None-Exist. */
export async function createBinary(req: FhirRequest, deps: QueryDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const { content, fhir } = readWriteBody(req, deps);
  if (fhir) requireJsonFormat(req);
  const criteria = ifNoneExistCriteria(req);
  if (criteria) {
    const existing = await existingMatch(req, deps, org, criteria, fhir);
    if (existing) return existing;
  }
  const id = (deps.newId ?? randomUUID)();
  return writeContent(req, deps, { org, id, method: 'POST', mustBeNew: true }, content, fhir);
}

/** C20/C21: PUT [base]/Binary/{id}, update-as-create. */
export async function updateBinary(req: FhirRequest, deps: CoreDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const id = requireId(req.params.id, 'id');
  const ifMatch = ifMatchVid(req);
  const { content, fhir } = readWriteBody(req, deps);
  if (fhir) {
    requireJsonFormat(req);
    const bodyId = (parseFhirBody(req) as { id?: unknown }).id;
    if (bodyId === undefined)
      throw badRequest(`The Binary has no id: set "id": "${id}" to match the URL.`, 'required');
    if (bodyId !== id)
      throw badRequest(
        `The Binary's id "${String(bodyId)}" differs from the URL's id "${id}": make them equal.`,
        'value',
      );
  }
  return writeContent(req, deps, { org, id, method: 'PUT', ifMatch }, content, fhir);
}

async function writeContent(
  req: FhirRequest,
  deps: CoreDeps,
  target: { org: string; id: string; method: WriteMethod; ifMatch?: number; mustBeNew?: boolean },
  content: BinaryContent,
  fhir: boolean,
): Promise<FhirResponse> {
  const staged = await stageBytes(deps, target.org, target.id, content.bytes, content.resource.contentType);
  try {
    const record = await commitVersion(deps, {
      ...target,
      content: () => ({ resource: content.resource, ...staged }),
    });
    return writeResponse(req, record!, content.bytes, fhir);
  } catch (e) {
    await discardStaged(deps, staged);
    throw e;
  }
}

/** C23: DELETE [base]/Binary/{id}. */
export async function deleteBinary(req: FhirRequest, deps: CoreDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const id = requireId(req.params.id, 'id');
  const record = await commitVersion(deps, { org, id, method: 'DELETE', ifMatch: ifMatchVid(req) });
  const headers: Record<string, string> = record ? versionHeaders(record) : {};
  return {
    status: 204,
    headers,
    audit: { resourceId: id, versionId: record ? String(record.vid) : undefined },
  };
}

/** C14: GET [base]/Binary/{id}. */
export async function readBinary(req: FhirRequest, deps: CoreDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const id = requireId(req.params.id, 'id');
  const record = await deps.repo.current(org, id);
  if (!record) throw notFound(`Binary/${id} does not exist.`);
  if (record.deleted)
    throw gone(
      `Binary/${id} was deleted (version ${record.vid}); earlier versions remain readable through _history.`,
    );
  return respondWithVersion(req, deps, record);
}

/** C15: GET [base]/Binary/{id}/_history/{vid}. */
export async function vreadBinary(req: FhirRequest, deps: CoreDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const id = requireId(req.params.id, 'id');
  const vid = parseVid(req.params.vid);
  const record = vid === undefined ? undefined : await deps.repo.version(org, id, vid);
  if (!record) throw notFound(`Binary/${id} has no version "${req.params.vid ?? ''}".`);
  if (record.deleted) throw gone(`Version ${vid} of Binary/${id} records its deletion.`);
  return respondWithVersion(req, deps, record);
}

/** C16–C19: one version as FHIR JSON or raw bytes, with conditional and Range handling. */
async function respondWithVersion(
  req: FhirRequest,
  deps: CoreDeps,
  record: VersionRecord,
): Promise<FhirResponse> {
  const { maxInlineBytes, presignGetSeconds } = deps.config;
  const asJson = wantsFhirJson(req, record.contentType);
  // The representation depends on Accept (C16) and the answer on who asks (C2): caches must key on both.
  const headers = { ...versionHeaders(record), Vary: 'Accept, Authorization' };
  const audit = { resourceId: record.id, versionId: String(record.vid) };
  if (notModified(req, record)) return { status: 304, headers, audit };
  const head = req.method === 'HEAD';

  if (asJson) {
    const data = record.size > maxInlineBytes ? ('absent' as const) : await loadBytes(deps, record);
    return { ...fhirJson(200, toFhir(record, data), headers), audit: { ...audit, bytes: record.size } };
  }

  const rawHeaders: Record<string, string> = {
    ...headers,
    // Versions stored before C39 may hold a type or reference no header can carry: serve them
    // as opaque bytes rather than fail every read.
    'Content-Type':
      record.contentType !== undefined && isMediaType(record.contentType)
        ? record.contentType
        : 'application/octet-stream',
    'Content-Disposition': 'attachment',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': 'sandbox',
    'Accept-Ranges': 'bytes',
  };
  if (record.securityContext !== undefined && isReference(record.securityContext))
    rawHeaders['X-Security-Context'] = record.securityContext;

  if (record.size > maxInlineBytes) {
    const url = await deps.blobs.presignGet(record.blobKey!, presignGetSeconds);
    return {
      status: 307,
      headers: { ...headers, Location: url, 'Cache-Control': 'no-store' },
      audit: { ...audit, bytes: 0 },
    };
  }

  const range = parseRange(header(req, 'range'), record.size);
  if (range.kind === 'unsatisfiable') {
    throw new OperationOutcomeError(
      416,
      'value',
      `The Range is outside the ${record.size} bytes of this Binary.`,
      {
        'Content-Range': `bytes */${record.size}`,
      },
    );
  }
  if (range.kind === 'partial') {
    const length = range.end - range.start + 1;
    const bytes = head ? undefined : await loadBytes(deps, record, range);
    return {
      status: 206,
      headers: {
        ...rawHeaders,
        'Content-Range': `bytes ${range.start}-${range.end}/${record.size}`,
        'Content-Length': String(length),
      },
      bytes: bytes ?? new Uint8Array(0),
      audit: { ...audit, bytes: length },
    };
  }
  const bytes = head ? new Uint8Array(0) : await loadBytes(deps, record);
  return {
    status: 200,
    headers: { ...rawHeaders, 'Content-Length': String(record.size) },
    bytes,
    audit: { ...audit, bytes: record.size },
  };
}

async function loadBytes(
  deps: CoreDeps,
  record: VersionRecord,
  range?: { start: number; end: number },
): Promise<Uint8Array> {
  if (record.size === 0 || record.blobKey === undefined) return new Uint8Array(0);
  return deps.blobs.get(record.blobKey, range);
}
