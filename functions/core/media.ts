import { parseJsonBody } from './json';
import { badRequest, notSupported } from './outcome';
import type { FhirRequest } from './request';
import { header, queryOne } from './request';

/** FHIR JSON media types accepted on requests (C4). */
const FHIR_JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir']);
const FHIR_XML_TYPES = new Set(['application/fhir+xml', 'application/xml+fhir']);
export const FHIR_JSON_CONTENT_TYPE = 'application/fhir+json; charset=utf-8';

/** Longest media type accepted (RFC 6838 caps type and subtype at 127 characters each). */
export const MAX_MEDIA_TYPE_LENGTH = 256;

// RFC 9110 §8.3.1 / §5.6.6: type "/" subtype *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] ).
// US-ASCII only (obs-text is refused): the value becomes a response header and S3 object metadata.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t \\x21-\\x7e])*"';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*(?:${TOKEN}=(?:${TOKEN}|${QUOTED}))?)*$`);

/** True when `value` is a media type per RFC 9110 (US-ASCII, at most MAX_MEDIA_TYPE_LENGTH). */
export const isMediaType = (value: string): boolean =>
  value.length <= MAX_MEDIA_TYPE_LENGTH && MEDIA_TYPE.test(value);

/**
 * C39: a content type that will be stored, sent as a header and set on S3 objects must be a
 * media type; CR/LF, non-ASCII characters or a missing subtype → 400. `what` names the element.
 */
export function requireMediaType(value: string, what: string): string {
  if (!isMediaType(value))
    throw badRequest(
      `${what} is not a media type: use type/subtype with optional ; name=value parameters ` +
        `(RFC 9110 section 8.3.1), US-ASCII only, at most ${MAX_MEDIA_TYPE_LENGTH} characters, e.g. "application/pdf".`,
      'value',
    );
  return value;
}

/** The bare media type, lower case, without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const t = contentType.split(';')[0]?.trim().toLowerCase();
  return t === '' ? undefined : t;
}

export const isFhirJsonType = (ct: string | undefined) => FHIR_JSON_TYPES.has(mediaType(ct) ?? '');
export const isFhirXmlType = (ct: string | undefined) => FHIR_XML_TYPES.has(mediaType(ct) ?? '');

/** JSON per binary.html's rule: `application/json` or any `…+json` structured suffix. */
export function isJsonType(ct: string | undefined): boolean {
  const t = mediaType(ct);
  return t !== undefined && (t === 'application/json' || t.endsWith('+json'));
}

/** The FHIR version this server speaks, as the `fhirVersion` media type parameter names it (http.html#version-parameter). */
export const FHIR_VERSION_PARAM = '4.0';

interface MediaRange {
  type: string;
  /** The `fhirVersion` parameter, when given. */
  fhirVersion?: string;
}

/** Media ranges from an Accept header with their fhirVersion, without q-values (never ranked). */
function acceptRanges(req: FhirRequest): MediaRange[] {
  return (header(req, 'accept') ?? '').split(',').flatMap((p) => {
    const type = mediaType(p);
    if (type === undefined) return [];
    const v = /;\s*fhirversion\s*=\s*"?([^;",\s]+)/i.exec(p)?.[1];
    return [{ type, ...(v !== undefined ? { fhirVersion: v } : {}) }];
  });
}

/** R4 is 4.0 (4.0.1 also names it); any other fhirVersion is a version this server cannot produce. */
const otherVersion = (r: MediaRange) =>
  r.fhirVersion !== undefined && r.fhirVersion !== FHIR_VERSION_PARAM && !r.fhirVersion.startsWith('4.0.');

/**
 * Accept ranges this server can serve as FHIR: those asking for FHIR XML or another fhirVersion
 * are left out; when nothing is left of a non-empty Accept, 406 (C4).
 */
function usableAccept(req: FhirRequest): string[] {
  const all = acceptRanges(req);
  const usable = all.filter((r) => !FHIR_XML_TYPES.has(r.type) && !otherVersion(r)).map((r) => r.type);
  if (all.length > 0 && usable.length === 0) {
    const versions = all.filter(otherVersion).map((r) => r.fhirVersion);
    throw notSupported(
      406,
      versions.length > 0
        ? `fhirVersion=${versions.join(', ')} is not served: this is an R4 server; ask for application/fhir+json; fhirVersion=${FHIR_VERSION_PARAM} (or no fhirVersion).`
        : 'FHIR XML is not supported: ask for application/fhir+json.',
    );
  }
  return usable;
}

const FORMAT_JSON = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);
const FORMAT_XML = new Set([
  'xml',
  'text/xml',
  'application/xml',
  'application/fhir+xml',
  'application/xml+fhir',
]);

/**
 * Rejects requests asking for a FHIR format other than JSON (C4). Called on every route whose
 * response is a FHIR resource. Returns true when the client explicitly asked for FHIR JSON.
 */
export function requireJsonFormat(req: FhirRequest): void {
  const format = queryOne(req, '_format');
  if (format !== undefined) {
    // An unencoded '+' in a query string arrives as a space (`application/fhir json`).
    const f = format.toLowerCase().trim().replace(/ /g, '+');
    if (FORMAT_XML.has(f)) throw notSupported(406, 'FHIR XML is not supported: use _format=json.');
    if (!FORMAT_JSON.has(mediaType(f) ?? f))
      throw notSupported(406, `_format=${format} is not supported: use _format=json.`);
    return;
  }
  usableAccept(req);
}

/**
 * C16: decides whether a read answers the FHIR JSON form or the raw bytes.
 * `_format` or a FHIR JSON Accept wins; plain `application/json` gets FHIR JSON unless the stored
 * content is itself JSON; anything else (no Accept, star, the stored type, …) gets the bytes.
 */
export function wantsFhirJson(req: FhirRequest, storedContentType: string | undefined): boolean {
  if (queryOne(req, '_format') !== undefined) {
    requireJsonFormat(req);
    return true;
  }
  const accept = usableAccept(req);
  if (accept.some((a) => a === 'application/fhir+json' || a === 'application/json+fhir')) return true;
  if (accept.includes('application/json')) return !isJsonType(storedContentType);
  return false;
}

/**
 * C11: the request body is a FHIR Binary only with a FHIR JSON Content-Type and a JSON body whose
 * resourceType is Binary. Returns the parsed object then, or undefined for a raw body.
 */
export function parseFhirBody(req: FhirRequest): Record<string, unknown> | undefined {
  const ct = header(req, 'content-type');
  if (ct === undefined)
    throw badRequest(
      'Content-Type is required: send application/fhir+json or the media type of the raw content.',
      'required',
    );
  if (isFhirXmlType(ct) || looksLikeFhirXmlBinary(ct, req.body)) {
    throw notSupported(
      415,
      'FHIR XML is not supported: send the Binary as application/fhir+json, or the raw content with its own Content-Type.',
    );
  }
  if (!isFhirJsonType(ct)) return undefined;
  const json = parseJsonBody(req.body, 'The body');
  if (json === undefined)
    throw badRequest(
      `The body is not valid JSON although Content-Type is ${mediaType(ct)}: fix the JSON or send it with another Content-Type.`,
      'structure',
    );
  const parsed = json.value;
  if (
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    (parsed as { resourceType?: unknown }).resourceType === 'Binary'
  ) {
    return parsed as Record<string, unknown>;
  }
  return undefined;
}

function looksLikeFhirXmlBinary(ct: string, body: Uint8Array): boolean {
  const t = mediaType(ct);
  if (t !== 'application/xml' && t !== 'text/xml') return false;
  const head = Buffer.from(body.subarray(0, 512))
    .toString('utf8')
    .replace(/^\uFEFF?\s*(<\?xml[^>]*\?>\s*)?/, '');
  return /^<Binary[\s>]/.test(head) && head.includes('http://hl7.org/fhir');
}
