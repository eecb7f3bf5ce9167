import { b64, createRaw, expectOutcome } from '../support/fhir';
import { versionsOf } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

/** #12 item 8: HTTP details a FHIR client or a cache relies on (C4, C9, C16, C22, C23). */
let s: TestServer;
let id: string;
beforeAll(async () => {
  s = await startServer('http');
  id = await createRaw(s, 'hello world', 'text/plain');
});
afterAll(() => s.close());

const JSON_ACCEPT = { accept: 'application/fhir+json' };

describe('#12.8 C16: reads vary by Accept and Authorization', () => {
  test.each([
    ['raw', {}],
    ['FHIR JSON', JSON_ACCEPT],
    ['304', { 'if-none-match': 'W/"1"' }],
  ])('C16: %s read carries Vary: Accept, Authorization', async (_, headers) => {
    for (const path of [`/Binary/${id}`, `/Binary/${id}/_history/1`]) {
      const res = await s.fetch(path, { headers });
      expect(res.headers.get('vary')).toBe('Accept, Authorization');
    }
  });

  test('C16: the CORS Vary: Origin is kept next to it', async () => {
    const res = await s.fetch(`/Binary/${id}`, { headers: { origin: 'http://localhost:3000' } });
    const vary = (res.headers.get('vary') ?? '').split(',').map((v) => v.trim());
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(vary).toEqual(['Origin', 'Accept', 'Authorization']);
  });
});

describe('#12.8 C9: HEAD carries the Content-Length of GET', () => {
  test.each([
    ['read as FHIR JSON', () => `/Binary/${id}`, JSON_ACCEPT],
    ['vread as FHIR JSON', () => `/Binary/${id}/_history/1`, JSON_ACCEPT],
    ['instance history', () => `/Binary/${id}/_history`, {}],
    ['type history', () => '/Binary/_history', {}],
    ['search', () => `/Binary?_id=${id}`, {}],
    ['metadata', () => '/metadata', {}],
    ['raw read', () => `/Binary/${id}`, {}],
  ])('C9: %s', async (_, path, headers) => {
    const get = await s.fetch(path(), { headers });
    const body = Buffer.from(await get.arrayBuffer());
    expect(get.status).toBe(200);
    const head = await s.fetch(path(), { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(body.length));
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
  });
});

describe('#12.8 C4: an fhirVersion other than R4 in Accept → 406', () => {
  test.each([() => `/Binary/${id}`, () => '/Binary', () => '/Binary/_history', () => '/metadata'])(
    'C4: path %#',
    async (path) => {
      const res = await s.fetch(path(), { headers: { accept: 'application/fhir+json; fhirVersion=3.0' } });
      const oo = await expectOutcome(res, 406, 'not-supported');
      expect(oo.issue[0]!.diagnostics).toMatch(/fhirVersion=3\.0/);
      const ok = await s.fetch(path(), { headers: { accept: 'application/fhir+json; fhirVersion=4.0' } });
      expect(ok.status).toBe(200);
    },
  );

  test('C16: another range next to it still serves the bytes', async () => {
    const res = await s.fetch(`/Binary/${id}`, {
      headers: { accept: 'application/fhir+json; fhirVersion=5.0, text/plain' },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello world');
  });
});

describe('#12.8 C23: delete', () => {
  test('C23: 204 carries the ETag and Last-Modified of the delete version', async () => {
    const doomed = await createRaw(s, 'x', 'text/plain');
    const res = await s.fetch(`/Binary/${doomed}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(res.headers.get('etag')).toBe('W/"2"');
    const v2 = (await versionsOf(s.org, doomed))[1]!;
    expect(res.headers.get('last-modified')).toBe(new Date(v2.lastUpdated as string).toUTCString());
  });
});

describe('#12.8 C22: an empty JSON Patch', () => {
  const patch = (target: string, headers: Record<string, string> = {}) =>
    s.fetch(`/Binary/${target}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json', ...headers },
      body: '[]',
    });

  test('C22: [] → 200 with the current version and no new version', async () => {
    const target = await createRaw(s, 'same', 'text/plain');
    const res = await patch(target);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('location')).toBeNull();
    const b = await res.json();
    expect(b).toMatchObject({
      resourceType: 'Binary',
      id: target,
      data: b64('same'),
      meta: { versionId: '1' },
    });
    expect((await versionsOf(s.org, target)).length).toBe(1);
    const min = await patch(target, { prefer: 'return=minimal' });
    expect(min.status).toBe(200);
    expect(await min.text()).toBe('');
  });

  test('C22/C21: [] with a stale If-Match → 412; on a deleted Binary → 410', async () => {
    const target = await createRaw(s, 'same', 'text/plain');
    await expectOutcome(await patch(target, { 'if-match': 'W/"7"' }), 412, 'conflict');
    await s.fetch(`/Binary/${target}`, { method: 'DELETE' });
    await expectOutcome(await patch(target), 410, 'deleted');
    expect((await versionsOf(s.org, target)).length).toBe(2);
  });
});
