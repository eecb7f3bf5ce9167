import { loadConfig } from '../../functions/config';
import { toHttpResult } from '../../functions/http/event';
import {
  base64Length,
  LAMBDA_EVENT_BYTES,
  LAMBDA_RESPONSE_BYTES,
  MAX_DIRECT_BODY_BYTES,
  MAX_EVENT_BODY_BYTES,
} from '../../functions/limits';
import { type GatewayRequest, gatewayEvent } from '../../local/server';

const BASE = '/organizations/acme/fhir/4';
const request = (contentType: string, extra: Record<string, string[]> = {}): GatewayRequest => ({
  method: 'POST',
  url: new URL(`http://x${BASE}/Binary`),
  headers: { host: ['x'], 'content-type': [contentType], ...extra },
  httpVersion: '1.1',
  sourceIp: '127.0.0.1',
});
const size = (e: unknown) => Buffer.byteLength(JSON.stringify(e));

describe('C40 the event the local gateway hands the function', () => {
  test('C40: text types travel as text, every other type base64-encoded (FHIR JSON and JSON Patch too)', () => {
    const body = Buffer.from('{"a":1}');
    const encoded = (ct: string) => gatewayEvent(request(ct), 'POST /x', {}, body, undefined).isBase64Encoded;
    for (const ct of [
      'text/plain',
      'text/csv; charset=utf-8',
      'application/json',
      'application/xml',
      'application/javascript',
    ])
      expect([ct, encoded(ct)]).toEqual([ct, false]);
    for (const ct of [
      'application/fhir+json',
      'application/json-patch+json',
      'application/octet-stream',
      'application/pdf',
      'image/png',
      'application/x-www-form-urlencoded',
    ])
      expect([ct, encoded(ct)]).toEqual([ct, true]);
  });

  test('C40: repeated query parameters and headers are joined with commas; cookies get their own field', () => {
    const e = gatewayEvent(
      {
        ...request('text/plain', { accept: ['a/b', 'c/d'], cookie: ['x=1; y=2'] }),
        url: new URL(`http://x${BASE}/Binary?_id=a&_id=b`),
      },
      'GET /x',
      {},
      Buffer.alloc(0),
      undefined,
    );
    expect(e.queryStringParameters).toEqual({ _id: 'a,b' });
    expect(e.rawQueryString).toBe('_id=a&_id=b');
    expect(e.headers.accept).toBe('a/b,c/d');
    expect(e.cookies).toEqual(['x=1', 'y=2']);
    expect(e.headers.cookie).toBeUndefined();
    expect(e.body).toBeUndefined();
  });

  test('C13: a body at the direct limit fits Lambda’s event even with the largest envelope the HTTP API lets through', () => {
    // The HTTP API caps request line and headers at 10 KiB: spend it all on characters JSON escapes,
    // and give the token's claims as much again.
    const quotes = '"'.repeat(9 * 1024);
    const claims = {
      sub: 'u',
      organizations: ['acme'],
      scope: 'system/Binary.*',
      note: '"'.repeat(7 * 1024),
    };
    const body = Buffer.alloc(MAX_DIRECT_BODY_BYTES, 1);
    const e = gatewayEvent(
      request('application/fhir+json', { 'x-padding': [quotes] }),
      'POST /x',
      { organizationId: 'acme' },
      body,
      claims,
    );
    expect(e.body!.length).toBe(base64Length(MAX_DIRECT_BODY_BYTES));
    expect(e.body!.length).toBe(MAX_EVENT_BODY_BYTES);
    expect(size(e)).toBeLessThanOrEqual(LAMBDA_EVENT_BYTES);
    // …and so does a body one byte over, which must reach the function for its 413 OperationOutcome.
    const over = gatewayEvent(
      request('application/fhir+json', { 'x-padding': [quotes] }),
      'POST /x',
      {},
      Buffer.alloc(MAX_DIRECT_BODY_BYTES + 1, 1),
      claims,
    );
    expect(size(over)).toBeLessThanOrEqual(LAMBDA_EVENT_BYTES);
  });
});

describe('C19 responses fit Lambda’s response limit', () => {
  test('C19/C40: the largest inline read, raw or FHIR JSON, stays under 6,291,556 bytes as a Lambda result', () => {
    const max = loadConfig({ TABLE_NAME: 't', BUCKET_NAME: 'b', MAX_INLINE_BYTES: String(1e9) }).core
      .maxInlineBytes;
    expect(max).toBe(MAX_DIRECT_BODY_BYTES); // capped whatever the environment says
    const bytes = new Uint8Array(max).fill(9);
    const headers = { 'Content-Type': 'application/octet-stream', ETag: 'W/"1"' };
    const raw = toHttpResult({ method: 'GET' }, { status: 200, headers, bytes });
    expect(size(raw)).toBeLessThanOrEqual(LAMBDA_RESPONSE_BYTES);
    const json = toHttpResult(
      { method: 'GET' },
      {
        status: 200,
        headers,
        json: {
          resourceType: 'Binary',
          id: 'x',
          contentType: 'a/b',
          data: Buffer.from(bytes).toString('base64'),
        },
      },
    );
    expect(size(json)).toBeLessThanOrEqual(LAMBDA_RESPONSE_BYTES);
  });
});

describe('C9 HEAD', () => {
  test('C9: HEAD of a bytes answer carries its Content-Length and no body (found by the e2e suite on $export-download)', () => {
    const bytes = new Uint8Array(1657).fill(7);
    const headers = { 'Content-Type': 'application/fhir+ndjson' };
    expect(toHttpResult({ method: 'HEAD' }, { status: 200, headers, bytes })).toEqual({
      statusCode: 200,
      headers: { ...headers, 'Content-Length': '1657' },
    });
    // A handler's own Content-Length (a Range answer) stays as it is.
    const ranged = { ...headers, 'content-length': '10' };
    expect(toHttpResult({ method: 'HEAD' }, { status: 206, headers: ranged, bytes })).toEqual({
      statusCode: 206,
      headers: ranged,
    });
  });
});
