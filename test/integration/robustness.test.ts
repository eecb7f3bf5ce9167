/**
 * Issue #13's observed 500s, each reproduced through HTTP: hostile input gets a precise 4xx
 * OperationOutcome (C7, C39), stores nothing, and leaves existing resources readable.
 */
import type { Binary, Bundle } from 'fhir/r4';
import { MAX_JSON_DEPTH } from '../../functions/core/json';
import { MAX_EXCLUSIONS, MAX_LANGUAGES } from '../../functions/core/search-params';
import { commitVersion } from '../../functions/core/write';
import { appDeps } from '../../functions/wiring';
import { b64, createRaw, expectOutcome } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('robust');
});
afterAll(() => s.close());

const fhir = (body: unknown, method = 'POST', path = '/Binary') =>
  s.fetch(path, {
    method,
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/fhir+json' },
  });
const patch = (id: string, ops: unknown) =>
  s.fetch(`/Binary/${id}`, {
    method: 'PATCH',
    body: typeof ops === 'string' ? ops : JSON.stringify(ops),
    headers: { 'content-type': 'application/json-patch+json' },
  });
const uploadStart = (body: unknown) =>
  s.fetch('/Binary/$upload', {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
async function total(): Promise<number> {
  return ((await (await s.fetch('/Binary?_summary=count')).json()) as Bundle).total!;
}
/** The Binary is still at version `vid` and still reads, raw and as FHIR JSON. */
async function intact(id: string, vid: string) {
  const raw = await s.fetch(`/Binary/${id}`);
  expect(raw.status).toBe(200);
  expect(raw.headers.get('etag')).toBe(`W/"${vid}"`);
  expect((await s.fetch(`/Binary/${id}`, { method: 'HEAD' })).status).toBe(200);
  const j = await s.fetch(`/Binary/${id}`, { headers: { accept: 'application/fhir+json' } });
  expect(j.status).toBe(200);
}
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('#13 item 1 (C39): media types and references are validated on every write path', () => {
  const badTypes = ['text/plain\r\nX-Injected: 1', 'text/plaín', 'text/plain\u2028', 'text', 'a/b; x'];
  const badRefs = ['Patient/1\r\nX-Injected: 1', 'Patient/１', 'Patient/1 2', '#contained', 'Patient/é'];

  test.each(badTypes)(
    'C39: FHIR JSON contentType %j → 400, with or without data, nothing stored',
    async (ct) => {
      const before = await total();
      await expectOutcome(
        await fhir({ resourceType: 'Binary', contentType: ct, data: b64('x') }),
        400,
        'value',
      );
      await expectOutcome(await fhir({ resourceType: 'Binary', contentType: ct }), 400, 'value');
      expect(await total()).toBe(before);
    },
  );

  test.each(badRefs)(
    'C39: securityContext.reference %j → 400 on create, PUT and $upload start',
    async (ref) => {
      const before = await total();
      const body = { resourceType: 'Binary', contentType: 'text/plain', securityContext: { reference: ref } };
      await expectOutcome(await fhir(body), 400, 'value');
      await expectOutcome(await fhir({ ...body, id: 'sc-put' }, 'PUT', '/Binary/sc-put'), 400, 'value');
      await expectOutcome(
        await uploadStart({ contentType: 'text/plain', size: 10, securityContext: ref }),
        400,
        'value',
      );
      expect(await total()).toBe(before);
    },
  );

  test.each(badTypes)('C39: $upload start with contentType %j → 400', async (ct) => {
    await expectOutcome(await uploadStart({ contentType: ct, size: 10 }), 400, 'value');
  });

  test('C39/C22: a PATCH that writes CR/LF or non-Latin-1 into contentType or the reference → 422, the Binary stays readable', async () => {
    const id = await createRaw(s, 'hello', 'text/plain', { 'x-security-context': 'Patient/1' });
    for (const ops of [
      [{ op: 'replace', path: '/contentType', value: 'text/plain\r\nSet-Cookie: a=b' }],
      [{ op: 'replace', path: '/contentType', value: 'text/plaín' }],
      [{ op: 'replace', path: '/securityContext/reference', value: 'Patient/1\nX: y' }],
      [{ op: 'replace', path: '/securityContext/reference', value: 'Patient/\u4e00' }],
    ])
      await expectOutcome(await patch(id, ops), 422, 'business-rule');
    await intact(id, '1');
  });

  test('C39: a raw write with an X-Security-Context that is not a reference → 400', async () => {
    const res = await s.fetch('/Binary', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain', 'x-security-context': 'Patient/1 <script>' },
    });
    await expectOutcome(res, 400, 'value');
  });

  test('C39: valid media types with parameters and absolute references are kept', async () => {
    const res = await fhir({
      resourceType: 'Binary',
      contentType: 'multipart/mixed; boundary="a b"; charset=utf-8',
      securityContext: { reference: 'https://ehr.example.org/fhir/Patient/123/_history/2' },
      data: b64('x'),
    });
    expect(res.status).toBe(201);
    const b = (await res.json()) as Binary;
    const raw = await s.fetch(`/Binary/${b.id}`);
    expect(raw.headers.get('content-type')).toBe('multipart/mixed; boundary="a b"; charset=utf-8');
    expect(raw.headers.get('x-security-context')).toBe('https://ehr.example.org/fhir/Patient/123/_history/2');
  });
});

test('C39: a version stored before validation with CR/LF in contentType and reference still reads (as octet-stream)', async () => {
  const id = `legacy-${Math.random().toString(36).slice(2, 8)}`;
  await commitVersion(appDeps(), {
    org: s.org,
    id,
    method: 'PUT',
    content: () => ({
      resource: {
        resourceType: 'Binary',
        contentType: 'text/html\r\nSet-Cookie: a=b',
        securityContext: { reference: 'Patient/1\r\nX: y' },
      },
      size: 0,
    }),
  });
  for (const method of ['GET', 'HEAD']) {
    const res = await s.fetch(`/Binary/${id}`, { method });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('x-security-context')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
  }
});

describe('#13 item 2 (C39): bounded JSON', () => {
  const bigMeta = { tag: [{ system: 'urn:x', code: 'x'.repeat(500_000) }] };

  test('C39: a ~500 KB meta → 413 on create, PUT and PATCH; nothing stored', async () => {
    const before = await total();
    await expectOutcome(
      await fhir({ resourceType: 'Binary', contentType: 'text/plain', meta: bigMeta, data: b64('x') }),
      413,
      'too-long',
    );
    await expectOutcome(
      await fhir(
        { resourceType: 'Binary', id: 'big-put', contentType: 'text/plain', meta: bigMeta },
        'PUT',
        '/Binary/big-put',
      ),
      413,
      'too-long',
    );
    const id = await createRaw(s, 'hello', 'text/plain');
    await expectOutcome(await patch(id, [{ op: 'add', path: '/meta', value: bigMeta }]), 413, 'too-long');
    await intact(id, '1');
    expect(await total()).toBe(before + 1);
  });

  test(`C39: 20,000 nesting levels → 400 on create, PATCH and $upload; ${MAX_JSON_DEPTH} is the limit`, async () => {
    const deep = `{"resourceType":"Binary","contentType":"text/plain","meta":{"tag":${nested(20_000)}}}`;
    await expectOutcome(await fhir(deep), 400, 'structure');
    const id = await createRaw(s, 'hello', 'text/plain');
    await expectOutcome(
      await patch(id, `[{"op":"add","path":"/meta","value":{"tag":${nested(20_000)}}}]`),
      400,
      'structure',
    );
    await expectOutcome(
      await uploadStart(`{"contentType":"a/b","size":1,"x":${nested(20_000)}}`),
      400,
      'structure',
    );
    // Exactly at the limit parses (and is then judged on its content: meta.tag must be a list of codings).
    const atLimit = `{"resourceType":"Binary","contentType":"text/plain","meta":{"extension":${nested(MAX_JSON_DEPTH - 2)}}}`;
    expect((await fhir(atLimit)).status).toBe(201);
    const over = `{"resourceType":"Binary","contentType":"text/plain","meta":{"extension":${nested(MAX_JSON_DEPTH - 1)}}}`;
    await expectOutcome(await fhir(over), 400, 'structure');
    await intact(id, '1');
  });

  test('C39: a FHIR JSON body that is not UTF-8 → 400', async () => {
    const body = Buffer.concat([
      Buffer.from('{"resourceType":"Binary","contentType":"text/plain","language":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    await expectOutcome(await fhir(new Uint8Array(body)), 400, 'structure');
  });
});

describe('#13 item 3 (C6): malformed percent-escapes in the path', () => {
  test.each(['/Binary/%ZZ', '/Binary/%E2', '/Binary/x/_history/%ZZ', '/Binary/%ZZ/_history'])(
    'C6: GET %s → 400',
    async (p) => {
      await expectOutcome(await s.fetch(p), 400, 'value');
    },
  );
  test('C6: /organizations/%ZZ/fhir/4/metadata → 400; GET // → 404', async () => {
    await expectOutcome(await fetch(`${s.origin}/organizations/%ZZ/fhir/4/metadata`), 400, 'value');
    await expectOutcome(await fetch(`${s.origin}//`), 404, 'not-found');
  });
});

describe('#13 item 6 (C22): JSON Patch on object machinery', () => {
  test.each([
    [{ op: 'add', path: '/__proto__/polluted', value: 'yes' }],
    [{ op: 'replace', path: '/__proto__', value: { polluted: 'yes' } }],
    [{ op: 'add', path: '/constructor/prototype/polluted', value: 'yes' }],
    [{ op: 'add', path: '/meta/__proto__', value: { polluted: 'yes' } }],
    [{ op: 'copy', from: '/__proto__', path: '/meta' }],
  ])('C22: %j → 400, nothing changes, no prototype is polluted', async (op) => {
    const id = await createRaw(s, 'hello', 'text/plain');
    await expectOutcome(await patch(id, [op]), 400, 'structure');
    expect(({} as { polluted?: string }).polluted).toBeUndefined();
    expect((Object.prototype as { polluted?: string }).polluted).toBeUndefined();
    await intact(id, '1');
  });
  test('C22: every other library failure is 400 or 422, never 500', async () => {
    const id = await createRaw(s, 'hello', 'text/plain');
    for (const ops of [
      [{ op: 'move', from: '/meta', path: '/meta/x' }],
      [{ op: 'add', path: '/meta/tag/-/x', value: 1 }],
      [{ op: 'remove', path: '/contentType/x' }],
      [{ op: 'copy', from: '/nothing', path: '/x' }],
      [{ op: 'test', path: '/id', value: null }],
      [{ op: 'add', path: 'no-slash', value: 1 }],
      [{ op: 'add', path: '/x', value: undefined }],
      [null],
    ]) {
      const res = await patch(id, ops);
      expect([400, 422]).toContain(res.status);
      expect(((await res.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    }
    await intact(id, '1');
  });
});

describe('#13 item 12 (C25): query sizes DynamoDB would refuse', () => {
  test(`C25: more than ${MAX_LANGUAGES} _language values → 400; ${MAX_LANGUAGES} work`, async () => {
    const langs = (n: number) => Array.from({ length: n }, (_, i) => `x${i}`).join(',');
    await expectOutcome(await s.fetch(`/Binary?_language=${langs(MAX_LANGUAGES + 1)}`), 400, 'value');
    expect((await s.fetch(`/Binary?_language=${langs(MAX_LANGUAGES)}`)).status).toBe(200);
  });
  test(`C25: more than ${MAX_EXCLUSIONS} _lastUpdated=ne values → 400; ${MAX_EXCLUSIONS} with ${MAX_LANGUAGES} languages work`, async () => {
    const ne = (n: number) =>
      Array.from(
        { length: n },
        (_, i) =>
          `_lastUpdated=ne2001-01-${String((i % 28) + 1).padStart(2, '0')}T00:00:${String(i % 60).padStart(2, '0')}Z`,
      ).join('&');
    await expectOutcome(await s.fetch(`/Binary?${ne(MAX_EXCLUSIONS + 1)}`), 400, 'value');
    const langs = Array.from({ length: MAX_LANGUAGES }, (_, i) => `language-tag-${i}`).join(',');
    const res = await s.fetch(`/Binary?${ne(MAX_EXCLUSIONS)}&_language=${langs}`);
    expect(res.status).toBe(200);
  });
});
