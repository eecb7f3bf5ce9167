import type { CapabilityStatement } from 'fhir/r4';
import { b64, createRaw, expectOutcome, idFromLocation } from '../support/fhir';
import { versionsOf } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

/** #12 item 5 (C10): If-None-Exist, http.html#ccreate. */
let s: TestServer;
beforeAll(async () => {
  s = await startServer('ccreate');
});
afterAll(() => s.close());

const fhirCreate = (ifNoneExist: string, language = 'fr') =>
  s.fetch('/Binary', {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', 'if-none-exist': ifNoneExist },
    body: JSON.stringify({
      resourceType: 'Binary',
      contentType: 'text/plain',
      language,
      data: b64('new'),
    }),
  });

const total = async () => (await (await s.fetch('/Binary?_summary=count')).json()).total as number;

describe('#12.5 C10: conditional create', () => {
  test('C10: no match → 201, a new Binary', async () => {
    const res = await fhirCreate('_id=never-created');
    expect(res.status).toBe(201);
    expect((await res.json()).data).toBe(b64('new'));
  });

  test('C10: one match → 200 with the existing Binary, nothing written', async () => {
    const id = await createRaw(s, 'existing', 'text/plain');
    const before = await total();
    const res = await fhirCreate(`_id=${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('location')).toBe(`${s.base}/Binary/${id}/_history/1`);
    const b = await res.json();
    expect(b).toMatchObject({ id, data: b64('existing'), meta: { versionId: '1' } });
    expect(await total()).toBe(before);
    expect((await versionsOf(s.org, id)).length).toBe(1);
    // The search URL form some clients send, and a raw body: headers only (C12).
    const raw = await s.fetch('/Binary', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'if-none-exist': `Binary?_id=${id}` },
      body: 'dup',
    });
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe('');
    expect(idFromLocation(raw.headers.get('location'))).toBe(id);
    expect(await total()).toBe(before);
  });

  test('C10: two or more matches → 412, nothing written', async () => {
    const a = await createRaw(s, 'a', 'text/plain');
    const b = await createRaw(s, 'b', 'text/plain');
    const before = await total();
    await expectOutcome(await fhirCreate(`_id=${a},${b}`), 412, 'conflict');
    expect(await total()).toBe(before);
  });

  test('C10: a deleted Binary does not match', async () => {
    const id = await createRaw(s, 'gone', 'text/plain');
    await s.fetch(`/Binary/${id}`, { method: 'DELETE' });
    expect((await fhirCreate(`_id=${id}`)).status).toBe(201);
  });

  test('C10: _language and _lastUpdated criteria', async () => {
    const first = await fhirCreate('_language=fr&_lastUpdated=ge2100-01-01');
    expect(first.status).toBe(201);
    const de = await fhirCreate('_language=de', 'de');
    expect(de.status).toBe(201);
    const again = await fhirCreate('_language=de', 'de');
    expect(again.status).toBe(200);
    expect((await again.json()).id).toBe((await de.json()).id);
  });

  test.each(['foo=1', '_id:not=x', '_count=1', '&'])(
    'C10: If-None-Exist "%s" cannot be evaluated → 400',
    async (h) => {
      const before = await total();
      const res = await fhirCreate(h);
      expect(res.status).toBe(400);
      expect(await total()).toBe(before);
    },
  );

  test('C27: the CapabilityStatement advertises conditionalCreate', async () => {
    const cs = (await (await fetch(`${s.base}/metadata`)).json()) as CapabilityStatement;
    expect(cs.rest![0]!.resource![0]!.conditionalCreate).toBe(true);
  });
});
