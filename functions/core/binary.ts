import type { Binary, Reference } from 'fhir/r4';
import { badRequest } from './outcome';
import type { VersionRecord } from './ports';

/**
 * Decoded data over this many bytes is left out of notifications (C33) and bulk export files
 * (C35) with the data-absent-reason extension; exactly this many bytes are still embedded.
 */
export const MAX_EMBEDDED_DATA_BYTES = 10 * 1024 * 1024;

/**
 * The data to embed in a version's FHIR JSON where it travels beyond the API (notifications,
 * export files): 'absent' over MAX_EMBEDDED_DATA_BYTES, decided from the stored size alone so
 * those bytes are never read; smaller data is read and checked against the stored size, so a
 * truncated read fails instead of travelling.
 */
export async function loadVersionData(
  record: VersionRecord,
  loadBytes: (blobKey: string) => Promise<Uint8Array>,
): Promise<Uint8Array | 'absent' | undefined> {
  if (record.size > MAX_EMBEDDED_DATA_BYTES) return 'absent';
  if (record.size === 0) return undefined;
  if (record.blobKey === undefined)
    throw new Error(`Binary/${record.id}/_history/${record.vid} has ${record.size} bytes but no blob key`);
  const data = await loadBytes(record.blobKey);
  if (data.length !== record.size) {
    throw new Error(
      `Binary/${record.id}/_history/${record.vid}: read ${data.length} bytes, stored size is ${record.size}`,
    );
  }
  return data;
}

/** The data-absent-reason extension used wherever data is left out (C31). */
export const DATA_ABSENT = {
  extension: [
    { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unsupported' },
  ],
};

const ALLOWED_KEYS = new Set([
  'resourceType',
  'id',
  'meta',
  'implicitRules',
  '_implicitRules',
  'language',
  '_language',
  'contentType',
  '_contentType',
  'securityContext',
  'data',
  '_data',
]);

// A flat character class (no nested groups): linear on multi-megabyte strings.
const BASE64 = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/;

/** What a write stores: the Binary without data, and the bytes. */
export interface BinaryContent {
  /** The Binary's JSON minus id, versioning meta and data. */
  resource: Omit<Binary, 'data' | 'id'>;
  bytes: Uint8Array;
}

/** Exact decoded length of padded base64, without decoding it. */
export function base64DecodedLength(b64: string): number {
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return (b64.length / 4) * 3 - pad;
}

/**
 * Validates a FHIR Binary body (C11): contentType required, data valid padded base64, only the
 * elements Binary has. `checkSize` runs before decoding so an oversized body is never decoded.
 */
export function binaryFromFhir(
  body: Record<string, unknown>,
  checkSize: (bytes: number) => void,
): BinaryContent {
  for (const k of Object.keys(body)) {
    if (!ALLOWED_KEYS.has(k)) throw badRequest(`Binary has no element "${k}": remove it.`, 'structure');
  }
  const { contentType, data, securityContext, language, meta } = body;
  if (typeof contentType !== 'string' || contentType.trim() === '') {
    throw badRequest('Binary.contentType is required: give the MIME type of the data.', 'required');
  }
  if (
    securityContext !== undefined &&
    (securityContext === null || typeof securityContext !== 'object' || Array.isArray(securityContext))
  ) {
    throw badRequest(
      'Binary.securityContext must be a Reference object, e.g. {"reference": "Patient/123"}.',
      'value',
    );
  }
  if (language !== undefined && typeof language !== 'string')
    throw badRequest('Binary.language must be a code string.', 'value');
  if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta))) {
    throw badRequest('Binary.meta must be an object.', 'value');
  }
  let bytes: Uint8Array = new Uint8Array(0);
  if (data !== undefined) {
    if (typeof data !== 'string' || data === '' || data.length % 4 !== 0 || !BASE64.test(data)) {
      throw badRequest(
        'Binary.data is not valid base64: use the standard alphabet with = padding, no line breaks.',
        'value',
      );
    }
    checkSize(base64DecodedLength(data));
    bytes = new Uint8Array(Buffer.from(data, 'base64'));
  }
  const { id: _id, data: _data, meta: m, ...rest } = body as Binary & Record<string, unknown>;
  const keptMeta = m ? stripVersioningMeta(m) : undefined;
  const resource = { ...rest, ...(keptMeta ? { meta: keptMeta } : {}) } as Omit<Binary, 'data' | 'id'>;
  return { resource, bytes };
}

function stripVersioningMeta(meta: NonNullable<Binary['meta']>): Binary['meta'] | undefined {
  const { versionId: _v, lastUpdated: _l, ...rest } = meta;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** C11 raw body: contentType from Content-Type, securityContext from X-Security-Context. */
export function binaryFromRaw(
  contentType: string,
  securityContext: string | undefined,
  bytes: Uint8Array,
): BinaryContent {
  const resource: Omit<Binary, 'data' | 'id'> = { resourceType: 'Binary', contentType };
  if (securityContext !== undefined) resource.securityContext = { reference: securityContext };
  return { resource, bytes };
}

/** The stored facts derived from a Binary (indexed attributes, C16 headers). */
export function describe(resource: Omit<Binary, 'data' | 'id'>) {
  const sc = resource.securityContext as Reference | undefined;
  return {
    contentType: resource.contentType,
    securityContext: sc?.reference,
    language: resource.language,
  };
}

/**
 * The FHIR JSON form of a stored version. `data` is the base64 of the bytes, or undefined to
 * leave it out with the data-absent-reason extension (C31); size 0 simply has no data.
 */
export function toFhir(record: VersionRecord, data: Uint8Array | 'absent' | undefined): Binary {
  const stored = JSON.parse(record.resource ?? '{"resourceType":"Binary"}') as Binary;
  const out: Binary = {
    resourceType: 'Binary',
    id: record.id,
    meta: { ...(stored.meta ?? {}), versionId: String(record.vid), lastUpdated: record.lastUpdated },
    ...withoutMeta(stored),
  };
  if (data === 'absent') {
    out._data = DATA_ABSENT;
  } else if (data !== undefined && data.length > 0) {
    out.data = Buffer.from(data).toString('base64');
  }
  return out;
}

function withoutMeta(b: Binary): Omit<Binary, 'meta' | 'resourceType' | 'id'> {
  const { meta: _m, resourceType: _r, id: _i, ...rest } = b;
  return rest;
}
