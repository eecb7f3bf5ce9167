import { b64, createRaw, expectOutcome } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
let id: string;
const bytes = new Uint8Array(Buffer.from('0123456789abcdefghij'));
beforeAll(async () => {
  s = await startServer('read');
  id = await createRaw(s, bytes, 'text/plain', { 'x-security-context': 'Patient/7' });
});
afterAll(() => s.close());

describe('C16 content negotiation', () => {
  const asJson = async (headers: Record<string, string>, query = '') => {
    const res = await s.fetch(`/Binary/${id}${query}`, { headers });
    expect(res.status).toBe(200);
    return res;
  };
  test.each([
    [{ accept: 'application/fhir+json' }, ''],
    [{ accept: 'application/json+fhir' }, ''],
    [{ accept: 'application/json' }, ''],
    [{ accept: 'text/html, application/fhir+json;q=0.9' }, ''],
    [{}, '?_format=json'],
    [{ accept: 'text/plain' }, '?_format=application/fhir+json'],
  ])('C16: %j %s → FHIR JSON', async (headers, q) => {
    const res = await asJson(headers, q);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    const b = await res.json();
    expect(b).toMatchObject({ resourceType: 'Binary', id, contentType: 'text/plain', data: b64(bytes) });
  });

  test.each([
    [{}],
    [{ accept: '*/*' }],
    [{ accept: 'text/plain' }],
    [{ accept: 'image/png' }],
    [{ accept: 'application/xml' }],
  ])('C16: %j → raw bytes', async (headers) => {
    const res = await asJson(headers);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
  });

  test('C16: Accept application/json on JSON content returns the raw JSON (binary.html)', async () => {
    const json = '{"hello":"world"}';
    const jid = await createRaw(s, json, 'application/json');
    const raw = await s.fetch(`/Binary/${jid}`, { headers: { accept: 'application/json' } });
    expect(raw.headers.get('content-type')).toBe('application/json');
    expect(await raw.text()).toBe(json);
    const suffix = await createRaw(s, json, 'application/vnd.api+json');
    const raw2 = await s.fetch(`/Binary/${suffix}`, { headers: { accept: 'application/json' } });
    expect(await raw2.text()).toBe(json);
    const fhir = await s.fetch(`/Binary/${jid}`, { headers: { accept: 'application/fhir+json' } });
    expect((await fhir.json()).data).toBe(b64(json));
  });

  test('C4: _format=xml or a FHIR XML Accept → 406', async () => {
    await expectOutcome(await s.fetch(`/Binary/${id}?_format=xml`), 406, 'not-supported');
    await expectOutcome(
      await s.fetch(`/Binary/${id}`, { headers: { accept: 'application/fhir+xml' } }),
      406,
      'not-supported',
    );
  });

  test('C16: an empty Binary has no data element', async () => {
    const eid = await createRaw(s, '', 'application/octet-stream');
    const res = await s.fetch(`/Binary/${eid}`, { headers: { accept: 'application/fhir+json' } });
    const b = await res.json();
    expect(b.data).toBeUndefined();
    const raw = await s.fetch(`/Binary/${eid}`);
    expect(raw.headers.get('content-length')).toBe('0');
  });
});

describe('C9/C17/C18 HEAD, conditional reads, Range', () => {
  test('C9: HEAD has the GET headers and no body', async () => {
    const res = await s.fetch(`/Binary/${id}`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const v = await s.fetch(`/Binary/${id}/_history/1`, {
      method: 'HEAD',
      headers: { accept: 'application/fhir+json' },
    });
    expect(v.status).toBe(200);
    expect(v.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  });

  test('C17: If-None-Match of the current version → 304; of another → 200', async () => {
    const res = await s.fetch(`/Binary/${id}`, { headers: { 'if-none-match': 'W/"1"' } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect((await s.fetch(`/Binary/${id}`, { headers: { 'if-none-match': 'W/"9"' } })).status).toBe(200);
  });

  test('C17: If-Modified-Since not older than lastUpdated → 304; older → 200', async () => {
    const first = await s.fetch(`/Binary/${id}`);
    const lm = first.headers.get('last-modified')!;
    expect((await s.fetch(`/Binary/${id}`, { headers: { 'if-modified-since': lm } })).status).toBe(304);
    const older = new Date(Date.parse(lm) - 2000).toUTCString();
    expect((await s.fetch(`/Binary/${id}`, { headers: { 'if-modified-since': older } })).status).toBe(200);
  });

  test.each([
    ['bytes=0-4', 0, 4],
    ['bytes=15-', 15, 19],
    ['bytes=-3', 17, 19],
    ['bytes=10-999', 10, 19],
  ])('C18: Range %s → 206 with Content-Range', async (range, a, b) => {
    const res = await s.fetch(`/Binary/${id}`, { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${a}-${b}/${bytes.length}`);
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe(
      Buffer.from(bytes)
        .subarray(a, b + 1)
        .toString(),
    );
  });

  test('C18: unsatisfiable Range → 416 with Content-Range: bytes */size', async () => {
    const res = await s.fetch(`/Binary/${id}`, { headers: { range: 'bytes=20-30' } });
    expect(res.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    await expectOutcome(res, 416, 'value');
  });

  test('C18: several ranges are ignored → 200 with the whole content', async () => {
    const res = await s.fetch(`/Binary/${id}`, { headers: { range: 'bytes=0-1,5-6' } });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(bytes.length);
  });
});

describe('C14/C15 read and vread', () => {
  test('C14: never existed → 404; deleted → 410; C15: vread of earlier versions still works', async () => {
    await expectOutcome(await s.fetch('/Binary/does-not-exist'), 404, 'not-found');
    const did = await createRaw(s, 'v1', 'text/plain');
    expect(
      (
        await s.fetch(`/Binary/${did}`, {
          method: 'PUT',
          body: 'v2',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(200);
    expect((await s.fetch(`/Binary/${did}`, { method: 'DELETE' })).status).toBe(204);
    await expectOutcome(await s.fetch(`/Binary/${did}`), 410, 'deleted');
    expect(await (await s.fetch(`/Binary/${did}/_history/1`)).text()).toBe('v1');
    expect(await (await s.fetch(`/Binary/${did}/_history/2`)).text()).toBe('v2');
    await expectOutcome(await s.fetch(`/Binary/${did}/_history/3`), 410, 'deleted');
    await expectOutcome(await s.fetch(`/Binary/${did}/_history/4`), 404, 'not-found');
    await expectOutcome(await s.fetch(`/Binary/${did}/_history/x`), 404, 'not-found');
  });

  test('C6: an id outside the FHIR id syntax → 400', async () => {
    await expectOutcome(await s.fetch(`/Binary/${'x'.repeat(65)}`), 400, 'value');
    await expectOutcome(await s.fetch('/Binary/a_b'), 400, 'value');
  });

  test('C5: vread carries the ETag and Last-Modified of that version', async () => {
    // No pause between the writes: lastUpdated increases within a resource even in the same
    // millisecond (C5), which the last assertion checks.
    const vid = await createRaw(s, 'a', 'text/plain');
    await s.fetch(`/Binary/${vid}`, { method: 'PUT', body: 'b', headers: { 'content-type': 'text/plain' } });
    const v1 = await s.fetch(`/Binary/${vid}/_history/1`, { headers: { accept: 'application/fhir+json' } });
    const b1 = await v1.json();
    expect(v1.headers.get('etag')).toBe('W/"1"');
    expect(b1.meta.versionId).toBe('1');
    const v2 = await s.fetch(`/Binary/${vid}`, { headers: { accept: 'application/fhir+json' } });
    const b2 = await v2.json();
    expect(v2.headers.get('etag')).toBe('W/"2"');
    expect(Date.parse(b2.meta.lastUpdated)).toBeGreaterThan(Date.parse(b1.meta.lastUpdated));
  });
});
