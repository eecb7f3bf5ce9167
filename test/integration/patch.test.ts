import type { Binary, Bundle } from 'fhir/r4';
import { commitVersion, stageBytes } from '../../functions/core/write';
import { appDeps } from '../../functions/wiring';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('patch');
});
afterAll(() => s.close());

const PATCH_TYPE = 'application/json-patch+json';
const patch = (id: string, ops: unknown, headers: Record<string, string> = {}) =>
  s.fetch(`/Binary/${id}`, {
    method: 'PATCH',
    body: typeof ops === 'string' ? ops : JSON.stringify(ops),
    headers: { 'content-type': PATCH_TYPE, ...headers },
  });
async function create(id: string, text = 'hello', contentType = 'text/plain') {
  const res = await s.fetch(`/Binary/${id}`, {
    method: 'PUT',
    body: text,
    headers: { 'content-type': contentType, 'x-security-context': 'Patient/1' },
  });
  expect(res.status).toBe(201);
}
const uid = (p: string) => `${p}-${Math.random().toString(36).slice(2, 10)}`;

describe('C22 patch', () => {
  test('C22: a JSON Patch of contentType and securityContext makes a new version and keeps the bytes', async () => {
    const id = uid('meta');
    await create(id);
    const res = await patch(id, [
      { op: 'test', path: '/contentType', value: 'text/plain' },
      { op: 'replace', path: '/contentType', value: 'text/markdown' },
      { op: 'replace', path: '/securityContext/reference', value: 'Patient/2' },
    ]);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"2"');
    const b = (await res.json()) as Binary;
    expect(b).toMatchObject({
      id,
      contentType: 'text/markdown',
      securityContext: { reference: 'Patient/2' },
      data: Buffer.from('hello').toString('base64'),
      meta: { versionId: '2' },
    });
    const raw = await s.fetch(`/Binary/${id}`);
    expect(raw.headers.get('content-type')).toBe('text/markdown');
    expect(raw.headers.get('x-security-context')).toBe('Patient/2');
    expect(await raw.text()).toBe('hello');
    // A new contentType on untouched /data: the stored object carries its type, so version 2 gets
    // its own copy of the same bytes (C19) and version 1 keeps serving its own type.
    const { repo } = appDeps();
    const [v1, v2] = [(await repo.version(s.org, id, 1))!, (await repo.version(s.org, id, 2))!];
    expect(v2.blobKey).not.toBe(v1.blobKey);
    expect(v2.size).toBe(v1.size);
    expect((await s.fetch(`/Binary/${id}/_history/1`)).headers.get('content-type')).toBe('text/plain');
    const h = (await (await s.fetch(`/Binary/${id}/_history`)).json()) as Bundle;
    expect(h.entry![0]!.request).toEqual({ method: 'PATCH', url: `Binary/${id}` });
  });

  test('C22: patching /data replaces the bytes; vread keeps the old ones', async () => {
    const id = uid('data');
    await create(id);
    const res = await patch(
      id,
      [{ op: 'replace', path: '/data', value: Buffer.from('bye').toString('base64') }],
      {
        prefer: 'return=minimal',
      },
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(await (await s.fetch(`/Binary/${id}`)).text()).toBe('bye');
    expect(await (await s.fetch(`/Binary/${id}/_history/1`)).text()).toBe('hello');
  });

  test('C22/C7: wrong type 415, malformed 400, failing test / invalid result / id change 422', async () => {
    const id = uid('err');
    await create(id);
    const wrongType = await s.fetch(`/Binary/${id}`, {
      method: 'PATCH',
      body: '[]',
      headers: { 'content-type': 'application/fhir+json' },
    });
    expect(wrongType.status).toBe(415);
    const cases: [unknown, number][] = [
      ['not json', 400],
      [{ op: 'replace' }, 400],
      [[{ op: 'frobnicate', path: '/contentType' }], 400],
      [[{ op: 'replace', path: 'contentType', value: 'x' }], 400],
      [[{ op: 'test', path: '/contentType', value: 'image/png' }], 422],
      [[{ op: 'replace', path: '/id', value: 'other' }], 422],
      [[{ op: 'remove', path: '/id' }], 422],
      [[{ op: 'remove', path: '/contentType' }], 422],
      [[{ op: 'add', path: '/color', value: 'red' }], 422],
      [[{ op: 'replace', path: '/data', value: 'not base64!' }], 422],
      [[{ op: 'remove', path: '/nothing/here' }], 422],
    ];
    for (const [ops, status] of cases) {
      const res = await patch(id, ops);
      expect([ops, res.status]).toEqual([ops, status]);
      const oo = await res.json();
      expect(oo.resourceType).toBe('OperationOutcome');
      expect(oo.issue[0].diagnostics).toBeTruthy();
    }
    // Nothing was written by the failures.
    expect((await s.fetch(`/Binary/${id}`, { method: 'HEAD' })).headers.get('etag')).toBe('W/"1"');
  });

  test('C22/C21: unknown 404, deleted 410, stale If-Match 412, current If-Match applies', async () => {
    const ops = [{ op: 'replace', path: '/contentType', value: 'text/csv' }];
    expect((await patch(uid('none'), ops)).status).toBe(404);
    const gone = uid('gone');
    await create(gone);
    await s.fetch(`/Binary/${gone}`, { method: 'DELETE' });
    expect((await patch(gone, ops)).status).toBe(410);
    const id = uid('match');
    await create(id);
    expect((await patch(id, ops, { 'if-match': 'W/"7"' })).status).toBe(412);
    const ok = await patch(id, ops, { 'if-match': 'W/"1"', prefer: 'return=OperationOutcome' });
    expect(ok.status).toBe(200);
    expect((await ok.json()).resourceType).toBe('OperationOutcome');
  });

  test('C22/C19: a Binary over 4 MiB gets its other elements patched without its bytes being read', async () => {
    const deps = appDeps();
    const id = uid('big');
    const bytes = new Uint8Array(deps.config.maxInlineBytes + 1024).fill(7);
    const staged = await stageBytes(deps, s.org, id, bytes, 'application/octet-stream');
    await commitVersion(deps, {
      org: s.org,
      id,
      method: 'POST',
      content: () => ({
        resource: { resourceType: 'Binary', contentType: 'application/octet-stream' },
        ...staged,
      }),
    });
    const reads = jest.spyOn(deps.blobs, 'get');
    try {
      const res = await patch(id, [{ op: 'replace', path: '/contentType', value: 'application/zip' }]);
      expect(res.status).toBe(200);
      const b = await res.json();
      expect(b.data).toBeUndefined();
      expect(b._data.extension[0].valueCode).toBe('unsupported');
      expect(b.contentType).toBe('application/zip');
      expect(reads).not.toHaveBeenCalled();
      // Copied server-side with the new type (C19): a new object, same size, never read here.
      expect((await deps.repo.version(s.org, id, 2))!.blobKey).not.toBe(staged.blobKey);
      expect((await deps.repo.version(s.org, id, 2))!.size).toBe(bytes.length);
      const dataPatch = await patch(id, [{ op: 'remove', path: '/data' }]);
      expect(dataPatch.status).toBe(422);
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
  });
});
