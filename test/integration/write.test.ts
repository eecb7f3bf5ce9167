import { b64, createRaw, expectOutcome, idFromLocation } from '../support/fhir';
import { storedFor } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('write');
});
afterAll(() => s.close());

const FHIR = { 'content-type': 'application/fhir+json' };
const binary = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', data: b64('hello'), ...extra });

describe('C10/C11/C8 FHIR JSON create', () => {
  test('C10/C8: FHIR body → 201 with the resource; body id and meta are ignored', async () => {
    const res = await s.fetch('/Binary', {
      method: 'POST',
      headers: FHIR,
      body: binary({
        id: 'client-chosen',
        meta: { versionId: '99', lastUpdated: '2000-01-01T00:00:00Z', tag: [{ code: 'x' }] },
      }),
    });
    expect(res.status).toBe(201);
    const b = await res.json();
    const id = idFromLocation(res.headers.get('location'));
    expect(res.headers.get('location')).toBe(`${s.base}/Binary/${id}/_history/1`);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).toMatchObject({
      resourceType: 'Binary',
      id,
      contentType: 'text/plain',
      data: b64('hello'),
      meta: { versionId: '1', tag: [{ code: 'x' }] },
    });
    expect(b.meta.lastUpdated).not.toBe('2000-01-01T00:00:00Z');
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  });

  test.each([
    'application/json',
    'application/json+fhir',
    'application/fhir+json; charset=utf-8; fhirVersion=4.0',
  ])('C4: %s is accepted as FHIR JSON', async (ct) => {
    const res = await s.fetch('/Binary', { method: 'POST', headers: { 'content-type': ct }, body: binary() });
    expect(res.status).toBe(201);
    expect((await res.json()).resourceType).toBe('Binary');
  });

  test('C8: Prefer return=minimal → empty; return=OperationOutcome → an OperationOutcome', async () => {
    const min = await s.fetch('/Binary', {
      method: 'POST',
      headers: { ...FHIR, prefer: 'return=minimal' },
      body: binary(),
    });
    expect(min.status).toBe(201);
    expect(await min.text()).toBe('');
    const oo = await s.fetch('/Binary', {
      method: 'POST',
      headers: { ...FHIR, prefer: 'return=OperationOutcome' },
      body: binary(),
    });
    expect(oo.status).toBe(201);
    expect((await oo.json()).resourceType).toBe('OperationOutcome');
  });

  test('C11: a FHIR JSON resource that is not a Binary is stored raw with the request Content-Type', async () => {
    const patient = JSON.stringify({ resourceType: 'Patient', id: 'p1' });
    const res = await s.fetch('/Binary', {
      method: 'POST',
      headers: { ...FHIR, prefer: 'return=representation' },
      body: patient,
    });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe(''); // C12
    const id = idFromLocation(res.headers.get('location'));
    const raw = await s.fetch(`/Binary/${id}`);
    expect(raw.headers.get('content-type')).toBe('application/fhir+json');
    expect(await raw.text()).toBe(patient);
    const asFhir = await (await s.fetch(`/Binary/${id}?_format=json`)).json();
    expect(asFhir.contentType).toBe('application/fhir+json');
    expect(Buffer.from(asFhir.data, 'base64').toString()).toBe(patient);
  });

  test('C11: an XML FHIR Binary body → 415; other XML is stored raw', async () => {
    const xml =
      '<?xml version="1.0"?><Binary xmlns="http://hl7.org/fhir"><contentType value="text/plain"/></Binary>';
    await expectOutcome(
      await s.fetch('/Binary', {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+xml' },
        body: xml,
      }),
      415,
      'not-supported',
    );
    await expectOutcome(
      await s.fetch('/Binary', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: xml }),
      415,
      'not-supported',
    );
    const ok = await s.fetch('/Binary', {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<note>hi</note>',
    });
    expect(ok.status).toBe(201);
  });

  test('C11: an empty raw body is a 0-byte Binary', async () => {
    const id = await createRaw(s, '', 'text/plain');
    const res = await s.fetch(`/Binary/${id}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});

describe('C7/C11/C13 bad input stores nothing', () => {
  let before: Awaited<ReturnType<typeof storedFor>>;
  beforeAll(async () => {
    before = await storedFor(s.org);
  });
  test.each([
    ['bad base64', binary({ data: 'not base64!' }), 'value'],
    ['unpadded base64', binary({ data: 'aGVsbG8' }), 'value'],
    ['missing contentType', JSON.stringify({ resourceType: 'Binary', data: b64('x') }), 'required'],
    ['unknown element', binary({ text: 'hi' }), 'structure'],
    ['securityContext not a Reference', binary({ securityContext: 'Patient/1' }), 'value'],
    ['invalid JSON', '{"resourceType": "Binary",', 'structure'],
  ])('C11: %s → 400', async (_what, body, code) => {
    const oo = await expectOutcome(
      await s.fetch('/Binary', { method: 'POST', headers: FHIR, body }),
      400,
      code,
    );
    expect(oo.issue[0]!.diagnostics.length).toBeGreaterThan(10);
  });

  test('C11: missing Content-Type → 400', async () => {
    const res = await s.fetch('/Binary', { method: 'POST', body: new Uint8Array([1, 2, 3]) });
    await expectOutcome(res, 400, 'required');
  });

  test('C20: FHIR body id missing or different from the URL → 400', async () => {
    await expectOutcome(
      await s.fetch('/Binary/abc', { method: 'PUT', headers: FHIR, body: binary() }),
      400,
      'required',
    );
    await expectOutcome(
      await s.fetch('/Binary/abc', { method: 'PUT', headers: FHIR, body: binary({ id: 'xyz' }) }),
      400,
      'value',
    );
  });

  test('C21: malformed If-Match → 400', async () => {
    await expectOutcome(
      await s.fetch('/Binary/abc', {
        method: 'PUT',
        headers: { 'content-type': 'text/plain', 'if-match': 'three' },
        body: 'x',
      }),
      400,
      'value',
    );
  });

  test('C38: malformed log-cdata → 400', async () => {
    const bad = { 'content-type': 'text/plain', 'log-cdata': 'novalue' };
    await expectOutcome(await s.fetch('/Binary', { method: 'POST', headers: bad, body: 'x' }), 400, 'value');
    const badJson = { 'content-type': 'text/plain', 'log-cdata': '[1]', 'log-cdata-format': 'json' };
    await expectOutcome(
      await s.fetch('/Binary', { method: 'POST', headers: badJson, body: 'x' }),
      400,
      'value',
    );
  });

  // Last in this block (jest runs a file's tests in order): a failure here is reported as a test,
  // not as an error of the hook.
  test('C7/C11/C13: no refused request of this block left anything in S3 or the table', async () => {
    expect(await storedFor(s.org)).toEqual(before);
  });
});

describe('C20/C21/C23 update and delete', () => {
  test('C20: PUT of a new id → 201 with Location; again → 200; raw update body is empty', async () => {
    const id = `put-${Date.now()}`;
    const first = await s.fetch(`/Binary/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'one',
    });
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`${s.base}/Binary/${id}/_history/1`);
    const second = await s.fetch(`/Binary/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/csv', 'x-security-context': 'Group/9' },
      body: 'two',
    });
    expect(second.status).toBe(200);
    expect(second.headers.get('etag')).toBe('W/"2"');
    expect(await second.text()).toBe('');
    const read = await s.fetch(`/Binary/${id}`);
    expect(read.headers.get('content-type')).toBe('text/csv');
    expect(read.headers.get('x-security-context')).toBe('Group/9');
    expect(await read.text()).toBe('two');
  });

  test('C20: FHIR update returns the resource; after a delete, PUT → 201 with the next version', async () => {
    const id = `fhir-${Date.now()}`;
    const up = await s.fetch(`/Binary/${id}`, { method: 'PUT', headers: FHIR, body: binary({ id }) });
    expect(up.status).toBe(201);
    expect((await up.json()).meta.versionId).toBe('1');
    expect((await s.fetch(`/Binary/${id}`, { method: 'DELETE' })).headers.get('etag')).toBe('W/"2"');
    const again = await s.fetch(`/Binary/${id}`, {
      method: 'PUT',
      headers: FHIR,
      body: binary({ id, data: b64('back') }),
    });
    expect(again.status).toBe(201);
    expect(again.headers.get('location')).toBe(`${s.base}/Binary/${id}/_history/3`);
    const b = await again.json();
    expect(b).toMatchObject({ id, meta: { versionId: '3' }, data: b64('back') });
  });

  test('C21: If-Match of the current version applies; of an old one → 412 and nothing changes', async () => {
    const id = await createRaw(s, 'v1', 'text/plain');
    const ok = await s.fetch(`/Binary/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', 'if-match': 'W/"1"' },
      body: 'v2',
    });
    expect(ok.status).toBe(200);
    const stale = await s.fetch(`/Binary/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', 'if-match': '"1"' },
      body: 'v3',
    });
    await expectOutcome(stale, 412, 'conflict');
    await expectOutcome(
      await s.fetch(`/Binary/${id}`, { method: 'DELETE', headers: { 'if-match': 'W/"1"' } }),
      412,
      'conflict',
    );
    const read = await s.fetch(`/Binary/${id}`);
    expect(read.headers.get('etag')).toBe('W/"2"');
    expect(await read.text()).toBe('v2');
    expect(
      (await s.fetch(`/Binary/${id}`, { method: 'DELETE', headers: { 'if-match': 'W/"2"' } })).status,
    ).toBe(204);
  });

  test('C23: DELETE → 204 with ETag; again, or of a never-existing id → 204 with no new version', async () => {
    const id = await createRaw(s, 'x', 'text/plain');
    const del = await s.fetch(`/Binary/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(del.headers.get('etag')).toBe('W/"2"');
    const again = await s.fetch(`/Binary/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(204);
    expect(again.headers.get('etag')).toBeNull();
    expect((await s.fetch(`/Binary/${id}/_history/3`)).status).toBe(404);
    expect((await s.fetch('/Binary/never-was-here', { method: 'DELETE' })).status).toBe(204);
  });
});
