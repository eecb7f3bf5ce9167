import { randomBytes } from 'node:crypto';
import { b64, expectOutcome, idFromLocation } from '../support/fhir';
import { versionsOf } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

/** #12 items 1 and 2 (C31, C11, C20, C22, C28): the data-absent-reason marker never loses or fakes data. */
const MiB = 1024 * 1024;
const DAR = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';
const FHIR = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
const absent = { extension: [{ url: DAR, valueCode: 'unsupported' }] };

let s: TestServer;
beforeAll(async () => {
  s = await startServer('absent');
});
afterAll(() => s.close());

/** A Binary over 4 MiB, through $upload in one 5 MiB part. */
async function uploadLarge(bytes: Buffer): Promise<string> {
  const res = await s.fetch('/Binary/$upload', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contentType: 'application/octet-stream', size: bytes.length, partSize: 5 * MiB }),
  });
  expect(res.status).toBe(201);
  const up = await res.json();
  const put = await fetch(up.parts[0].url, { method: 'PUT', body: bytes as unknown as BodyInit });
  expect(put.status).toBe(200);
  expect((await s.fetch(up.complete, { method: 'POST' })).status).toBe(201);
  return up.id;
}

describe('#12.1 C31: a Binary read without its data cannot be written back as empty', () => {
  const bytes = randomBytes(4 * MiB + 1000);
  let id: string;
  beforeAll(async () => {
    id = await uploadLarge(bytes);
  });

  test('C31/C20: PUT of the FHIR JSON read of a Binary over 4 MiB → 422 naming PATCH; no version, bytes kept', async () => {
    const read = await s.fetch(`/Binary/${id}`, { headers: { accept: 'application/fhir+json' } });
    expect(read.status).toBe(200);
    const resource = await read.json();
    expect(resource.data).toBeUndefined();
    expect(resource._data).toEqual(absent);

    const put = await s.fetch(`/Binary/${id}`, {
      method: 'PUT',
      headers: FHIR,
      body: JSON.stringify(resource),
    });
    const oo = await expectOutcome(put, 422, 'business-rule');
    expect(oo.issue[0]!.diagnostics).toMatch(/PATCH/);
    expect(oo.issue[0]!.diagnostics).toMatch(/\$upload/);
    // Nothing was written: still one version, still every byte.
    expect((await versionsOf(s.org, id)).length).toBe(1);
    const raw = await s.fetch(`/Binary/${id}`, { redirect: 'manual' });
    expect(raw.status).toBe(307);
    const got = Buffer.from(await (await fetch(raw.headers.get('location')!)).arrayBuffer());
    expect(got.equals(bytes)).toBe(true);
  });

  test('C31/C10/C26: a history Bundle entry without data → 422 on create and on update', async () => {
    const h = await (await s.fetch(`/Binary/${id}/_history`)).json();
    const entry = h.entry[0].resource;
    expect(entry._data).toEqual(absent);
    const post = await s.fetch('/Binary', { method: 'POST', headers: FHIR, body: JSON.stringify(entry) });
    await expectOutcome(post, 422, 'business-rule');
    const put = await s.fetch(`/Binary/${id}`, { method: 'PUT', headers: FHIR, body: JSON.stringify(entry) });
    await expectOutcome(put, 422, 'business-rule');
    expect((await versionsOf(s.org, id)).length).toBe(1);
  });

  test('C22: the metadata of that Binary changes by PATCH, bytes kept', async () => {
    const res = await s.fetch(`/Binary/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'add', path: '/securityContext', value: { reference: 'Patient/1' } }]),
    });
    expect(res.status).toBe(200);
    const v2 = (await versionsOf(s.org, id))[1]!;
    expect(v2.size).toBe(bytes.length);
  });
});

describe('#12.2 C31: the server owns the data-absent-reason extension', () => {
  const stored = async (id: string) => {
    const vs = await versionsOf(s.org, id);
    return JSON.parse(vs[vs.length - 1]!.resource as string);
  };

  test('C10: create with data and a client _data marker stores the data and no marker', async () => {
    const res = await s.fetch('/Binary', {
      method: 'POST',
      headers: FHIR,
      body: JSON.stringify({
        resourceType: 'Binary',
        contentType: 'text/plain',
        data: b64('hi'),
        _data: absent,
      }),
    });
    expect(res.status).toBe(201);
    const b = await res.json();
    expect(b.data).toBe(b64('hi'));
    expect(b._data).toBeUndefined();
    const id = idFromLocation(res.headers.get('location'));
    expect((await stored(id))._data).toBeUndefined();
    const read = await (
      await s.fetch(`/Binary/${id}`, { headers: { accept: 'application/fhir+json' } })
    ).json();
    expect(read).not.toHaveProperty('_data');
  });

  test('C20: update keeps other _data extensions and drops only the marker', async () => {
    const other = { url: 'http://example.org/ext', valueString: 'x' };
    const res = await s.fetch('/Binary/absent-put', {
      method: 'PUT',
      headers: FHIR,
      body: JSON.stringify({
        resourceType: 'Binary',
        id: 'absent-put',
        contentType: 'text/plain',
        data: b64('hi'),
        _data: { extension: [other, ...absent.extension] },
      }),
    });
    expect(res.status).toBe(201);
    expect((await res.json())._data).toEqual({ extension: [other] });
    expect((await stored('absent-put'))._data).toEqual({ extension: [other] });
  });

  test('C22: a patch that adds the marker keeps the data and stores no marker', async () => {
    const res = await s.fetch('/Binary/absent-put', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json', accept: 'application/fhir+json' },
      body: JSON.stringify([{ op: 'replace', path: '/_data', value: absent }]),
    });
    expect(res.status).toBe(200);
    const b = await res.json();
    expect(b.data).toBe(b64('hi'));
    expect(b._data).toBeUndefined();
    expect((await stored('absent-put'))._data).toBeUndefined();
    const raw = await s.fetch('/Binary/absent-put');
    expect(await raw.text()).toBe('hi');
  });

  test('C28: $upload start refuses a _data member', async () => {
    const res = await s.fetch('/Binary/$upload', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contentType: 'text/plain', size: 10, _data: absent }),
    });
    await expectOutcome(res, 400, 'invalid');
  });
});
