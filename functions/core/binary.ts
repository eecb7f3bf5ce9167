import type { Binary, Reference } from 'fhir/r4';
import { requireMediaType } from './media';
import { badRequest, tooLong } from './outcome';
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

export const DATA_ABSENT_URL = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

/** The data-absent-reason extension used wherever data is left out (C31). */
export const DATA_ABSENT = { extension: [{ url: DATA_ABSENT_URL, valueCode: 'unsupported' }] };

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

/** Longest `securityContext.reference` accepted (it travels as the X-Security-Context header). */
export const MAX_REFERENCE_LENGTH = 1024;

// FHIR references (references.html#literal): a relative `Type/id[/_history/vid]`, or an absolute
// URI (`https://…/Patient/1`, `urn:uuid:…`) of RFC 3986 characters. Binary contains no resources,
// so a local `#id` reference cannot resolve.
const RELATIVE_REFERENCE = /^[A-Z][A-Za-z]{0,63}\/[A-Za-z0-9.-]{1,64}(?:\/_history\/[A-Za-z0-9.-]{1,64})?$/;
const ABSOLUTE_REFERENCE = /^[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9._~:/?#[\]@!$&'()*+,;=%-]+$/;

/**
 * C39: `securityContext.reference` (FHIR JSON, X-Security-Context, `$upload`) must be a FHIR
 * literal reference; anything else (CR/LF, non-ASCII, spaces, `#id`) → 400.
 */
export const isReference = (value: string): boolean =>
  value.length <= MAX_REFERENCE_LENGTH && (RELATIVE_REFERENCE.test(value) || ABSOLUTE_REFERENCE.test(value));

export function requireReference(value: string, what: string): string {
  if (!isReference(value))
    throw badRequest(
      `${what} is not a FHIR reference: use Type/id (e.g. "Patient/123"), Type/id/_history/vid, ` +
        `or an absolute URI of US-ASCII characters, at most ${MAX_REFERENCE_LENGTH} characters.`,
      'value',
    );
  return value;
}

/** What a write stores: the Binary without data, and the bytes. */
export interface BinaryContent {
  /** The Binary's JSON minus id, versioning meta and data. */
  resource: Omit<Binary, 'data' | 'id'>;
  bytes: Uint8Array;
  /**
   * C31: the body had no `data` and its `_data` carried the data-absent-reason extension, i.e. the
   * bytes were left out (a Binary over 4 MiB read as FHIR JSON), not empty. `bytes` is then empty
   * and must not be stored as the content.
   */
  dataAbsent: boolean;
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
  maxResourceBytes: number,
): BinaryContent {
  for (const k of Object.keys(body)) {
    if (!ALLOWED_KEYS.has(k)) throw badRequest(`Binary has no element "${k}": remove it.`, 'structure');
  }
  const { contentType, data, securityContext, language, meta } = body;
  if (typeof contentType !== 'string' || contentType.trim() === '') {
    throw badRequest('Binary.contentType is required: give the MIME type of the data.', 'required');
  }
  requireMediaType(contentType, 'Binary.contentType');
  if (
    securityContext !== undefined &&
    (securityContext === null || typeof securityContext !== 'object' || Array.isArray(securityContext))
  ) {
    throw badRequest(
      'Binary.securityContext must be a Reference object, e.g. {"reference": "Patient/123"}.',
      'value',
    );
  }
  const reference = (securityContext as { reference?: unknown } | undefined)?.reference;
  if (reference !== undefined) {
    if (typeof reference !== 'string')
      throw badRequest('Binary.securityContext.reference must be a string such as "Patient/123".', 'value');
    requireReference(reference, 'Binary.securityContext.reference');
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
  const { id: _id, data: _d, _data, meta: m, ...rest } = body as Binary & Record<string, unknown>;
  const { element, absent } = withoutDataAbsent(_data);
  const keptMeta = m ? stripVersioningMeta(m) : undefined;
  const resource = {
    ...rest,
    ...(keptMeta ? { meta: keptMeta } : {}),
    ...(element ? { _data: element } : {}),
  } as Omit<Binary, 'data' | 'id'>;
  checkResourceSize(resource, maxResourceBytes);
  return { resource, bytes, dataAbsent: absent && data === undefined };
}

/**
 * C31: the server owns the data-absent-reason extension on `_data`, so it is never stored from a
 * client; other extensions (and an `id`) on `_data` are kept. `absent` tells whether it was there.
 */
function withoutDataAbsent(value: unknown): { element?: Record<string, unknown>; absent: boolean } {
  if (value === undefined) return { absent: false };
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw badRequest('Binary._data must be an object with "id" and/or "extension".', 'value');
  const { extension, ...rest } = value as { extension?: unknown };
  if (extension !== undefined && !Array.isArray(extension))
    throw badRequest('Binary._data.extension must be an array of extensions.', 'value');
  const all = (extension ?? []) as unknown[];
  const kept = all.filter((e) => (e as { url?: unknown } | null)?.url !== DATA_ABSENT_URL);
  const element = { ...rest, ...(kept.length > 0 ? { extension: kept } : {}) };
  return {
    element: Object.keys(element).length > 0 ? element : undefined,
    absent: kept.length < all.length,
  };
}

/**
 * C39: everything of a Binary but its data is stored in one DynamoDB item (at most 400 KB) and
 * copied into notifications, so it is bounded well below that: over the limit → 413.
 */
export function checkResourceSize(resource: object, maxResourceBytes: number): void {
  const n = Buffer.byteLength(JSON.stringify(resource), 'utf8');
  if (n > maxResourceBytes)
    throw tooLong(
      `The Binary's elements other than data take ${n} bytes of JSON; at most ${maxResourceBytes} are accepted ` +
        '(MAX_RESOURCE_BYTES): shorten meta, securityContext or the extensions.',
    );
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
  const resource: Omit<Binary, 'data' | 'id'> = {
    resourceType: 'Binary',
    contentType: requireMediaType(contentType, 'Content-Type'),
  };
  if (securityContext !== undefined)
    resource.securityContext = { reference: requireReference(securityContext, 'X-Security-Context') };
  return { resource, bytes, dataAbsent: false };
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
    // Keeps any extension a client stored on `_data` next to the server's marker.
    out._data = { ...out._data, extension: [...(out._data?.extension ?? []), ...DATA_ABSENT.extension] };
  } else if (data !== undefined && data.length > 0) {
    out.data = Buffer.from(data).toString('base64');
  }
  return out;
}

function withoutMeta(b: Binary): Omit<Binary, 'meta' | 'resourceType' | 'id'> {
  const { meta: _m, resourceType: _r, id: _i, ...rest } = b;
  return rest;
}
