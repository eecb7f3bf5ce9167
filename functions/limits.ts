/**
 * The one place for the limits API Gateway (HTTP API, payload format 2.0) and Lambda impose on a
 * request, and for the direct-write limits that follow from them (C13). The functions, the local
 * gateway (local/server.ts), the CapabilityStatement and the README all take their numbers from
 * here; docs/API.md C13 and C40 state them.
 *
 * Sources:
 * - Lambda quotas ("Invocation payload (request and response)": 6 MB each, synchronous): Lambda
 *   refuses a synchronous event or response over 6,291,556 bytes; its error message names that
 *   exact number ("Exceeded maximum allowed payload size (6291556 bytes)", see e.g.
 *   github.com/anomalyco/console issue 63).
 * - API Gateway HTTP API quotas: payload 10 MB, integration timeout 30 s (maximum for HTTP APIs,
 *   29 s is REST's; awsdocs/amazon-api-gateway-developer-guide PR 74).
 * - Base64: AWS Compute Blog, "Handling binary data using Amazon API Gateway HTTP APIs": the HTTP
 *   API infers the encoding from the request's Content-Type (text/plain arrives as is with
 *   isBase64Encoded false, image/jpeg base64-encoded). Which types count as text was measured by
 *   the session that filed issue #9: text/*, application/json, application/xml and
 *   application/javascript arrive as text; everything else, application/fhir+json and
 *   application/json-patch+json included, arrives base64-encoded.
 */

const KiB = 1024;

/** Largest synchronous Lambda event, as JSON, in bytes. */
export const LAMBDA_EVENT_BYTES = 6_291_556;
/** Largest synchronous Lambda response (the JSON of the handler's result), in bytes. */
export const LAMBDA_RESPONSE_BYTES = 6_291_556;
/** Largest request body the HTTP API accepts (10 MB). */
export const GATEWAY_PAYLOAD_BYTES = 10 * KiB * KiB;
/** The HTTP API's integration timeout: past it the client gets 503 while the function may go on. */
export const GATEWAY_TIMEOUT_MS = 30_000;

/**
 * Room kept in the event for everything but the body. The HTTP API caps the request line and
 * headers at 10 KiB together; the event repeats the path (rawPath, http.path), the query string
 * (raw and parsed), the cookies and the token's claims, and JSON escaping can double each of them.
 * That is under 128 KiB in the worst case; 256 KiB leaves room to spare.
 */
export const EVENT_ENVELOPE_RESERVE = 256 * KiB;

/** Media types the HTTP API passes to Lambda as text (not base64-encoded). */
export function isTextualMediaType(contentType: string | undefined): boolean {
  const t = contentType?.split(';')[0]?.trim().toLowerCase();
  if (!t) return false;
  return (
    t.startsWith('text/') ||
    t === 'application/json' ||
    t === 'application/xml' ||
    t === 'application/javascript'
  );
}

/** Length of the base64 encoding of `n` bytes. */
export const base64Length = (n: number) => 4 * Math.ceil(n / 3);

/**
 * An upper bound of the bytes a text body takes inside the event's JSON: quotes and backslashes
 * double, control characters take six (`\u0001`), and every non-ASCII UTF-16 unit is counted as
 * six (`\uXXXX`) whether or not the serializer escapes it.
 */
export function jsonTextLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x0c || c === 0x0a || c === 0x0d || c === 0x09)
      n += 2;
    else if (c < 0x20 || c > 0x7e) n += 6;
    else n += 1;
  }
  return n;
}

/**
 * Direct-write body limit in bytes (C13): the largest body whose base64 encoding, with the
 * envelope reserve, fits a Lambda event, rounded down to 256 KiB. (6,291,556 − 262,144) / 4 × 3 =
 * 4,522,059 → 4,456,448 bytes (4.25 MiB), whose base64 takes 5,941,932 bytes: 349,624 bytes are
 * left for the envelope, so a body just over the limit still reaches the function for its 413.
 */
export const MAX_DIRECT_BODY_BYTES =
  Math.floor((Math.floor((LAMBDA_EVENT_BYTES - EVENT_ENVELOPE_RESERVE) / 4) * 3) / (256 * KiB)) * 256 * KiB;

/** What a body may take inside the event: the base64 length of the largest direct body. */
export const MAX_EVENT_BODY_BYTES = base64Length(MAX_DIRECT_BODY_BYTES);

/**
 * Most data a FHIR JSON body (or a JSON Patch) can carry within MAX_DIRECT_BODY_BYTES: base64
 * takes 4 bytes per 3, and 4 KiB are left for the rest of the resource.
 */
export const MAX_FHIR_DATA_BYTES = Math.floor((MAX_DIRECT_BODY_BYTES - 4 * KiB) / 4) * 3;

/** Bytes a request body of this type takes inside the API Gateway v2 event. */
export function eventBodyBytes(body: Uint8Array, contentType: string | undefined): number {
  if (body.length === 0) return 0;
  return isTextualMediaType(contentType)
    ? jsonTextLength(Buffer.from(body).toString('utf8'))
    : base64Length(body.length);
}

/** A request body over the direct limits (C13): its size, the limit, and how it counts. */
export function directBodyOverLimit(
  body: Uint8Array,
  contentType: string | undefined,
): { size: number; limit: number; escaped: boolean } | undefined {
  if (body.length > MAX_DIRECT_BODY_BYTES)
    return { size: body.length, limit: MAX_DIRECT_BODY_BYTES, escaped: false };
  if (isTextualMediaType(contentType)) {
    const size = eventBodyBytes(body, contentType);
    if (size > MAX_EVENT_BODY_BYTES) return { size, limit: MAX_EVENT_BODY_BYTES, escaped: true };
  }
  return undefined;
}
