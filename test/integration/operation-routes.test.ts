import { mintToken } from '../../local/dev-auth';
import { startServer, type TestServer } from '../support/server';

/**
 * #9 item 5 (C28): API Gateway routes `$…` segments as path variables (functions/routes.ts), so
 * the function checks the literal segment itself; `%24upload` is `$upload` as API Gateway decodes
 * it. #14 item 6 (C2): SMART v1 and v2 scopes pass both the gateway's exact list and the function.
 */
let s: TestServer;
beforeAll(async () => {
  s = await startServer('ops');
});
afterAll(() => s.close());

const start = (path: string, token = s.token) =>
  fetch(`${s.base}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ contentType: 'text/plain', size: 10 }),
  });

test('C28: POST [base]/Binary/$upload and its percent-encoded form both start an upload', async () => {
  expect((await start('/Binary/$upload')).status).toBe(201);
  const encoded = await start('/Binary/%24upload');
  expect(encoded.status).toBe(201);
  expect(((await encoded.json()) as { status: string }).status).toContain('/Binary/$upload/');
  expect((await start('/Binary/my-doc/%24upload')).status).toBe(201);
});

test('C40: another segment where an operation is routed gets what the $default route answers', async () => {
  for (const [method, path, status] of [
    ['POST', '/Binary/upload', 405], // a path of read/update/patch/delete: Allow lists them
    ['POST', '/Binary/abc/$uploads', 501], // an operation this server does not offer
    ['GET', '/Binary/$download/u1', 501],
    ['DELETE', '/Binary/x/u1', 404],
    ['POST', '/Binary/$export/u1/complete', 404], // $export is offered; this sub-path is not
  ] as const) {
    const res = await s.fetch(path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
    });
    const body = (await res.json()) as { resourceType: string };
    expect([method, path, res.status, body.resourceType]).toEqual([method, path, status, 'OperationOutcome']);
    if (status === 405) expect(res.headers.get('allow')).toMatch(/GET.*PUT.*DELETE/);
  }
});

test('C2: SMART v2 scopes are accepted per operation (system/Binary.c starts, .r does not)', async () => {
  const c = await mintToken({ organizations: [s.org], scope: 'system/Binary.c' });
  const r = await mintToken({ organizations: [s.org], scope: 'system/Binary.r' });
  const cruds = await mintToken({ organizations: [s.org], scope: 'user/*.cruds' });
  expect((await start('/Binary/$upload', c)).status).toBe(201);
  expect((await start('/Binary/$upload', cruds)).status).toBe(201);
  expect((await start('/Binary/$upload', r)).status).toBe(403);
  const created = await fetch(`${s.base}/Binary`, {
    method: 'POST',
    headers: { authorization: `Bearer ${c}`, 'content-type': 'text/plain' },
    body: 'hi',
  });
  expect(created.status).toBe(201);
  const id = created.headers.get('location')!.split('/Binary/')[1]!.split('/')[0]!;
  expect((await fetch(`${s.base}/Binary/${id}`, { headers: { authorization: `Bearer ${r}` } })).status).toBe(
    200,
  );
  // `r` is read, not search (SMART v2 `s`).
  expect(
    (await fetch(`${s.base}/Binary?_id=${id}`, { headers: { authorization: `Bearer ${r}` } })).status,
  ).toBe(403);
});

describe('#9 item 5 (C1, C2): operations sharing a gateway route share its function', () => {
  const as = (scope: string) => mintToken({ organizations: [s.org], scope });
  const outcome = async (res: Response) => ((await res.json()) as { resourceType: string }).resourceType;

  test('C2: the route accepts the union of its operations’ scopes; the function checks each operation’s own', async () => {
    // GET [base]/Binary/{id} serves read (r) and the GET $export kick-off (r or s): a search-only
    // token passes the gateway and is refused by the function, as an OperationOutcome.
    const search = await as('system/Binary.s');
    const read = await fetch(`${s.base}/Binary/abc`, { headers: { authorization: `Bearer ${search}` } });
    expect([read.status, await outcome(read)]).toEqual([403, 'OperationOutcome']);
    // POST [base]/Binary/{id} serves the $upload start (c) and $validate (r).
    const r = await as('system/Binary.r');
    const upload = await start('/Binary/%24upload', r);
    expect([upload.status, await outcome(upload)]).toEqual([403, 'OperationOutcome']);
    const validate = await fetch(`${s.base}/Binary/%24validate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${r}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', data: 'aGk=' }),
    });
    expect(validate.status).toBe(200);
    // A scope no operation behind the route grants is refused by the gateway itself (C40).
    const d = await as('system/Binary.d');
    const gw = await start('/Binary/$upload', d);
    expect([gw.status, await gw.json()]).toEqual([403, { message: 'Forbidden' }]);
  });

  test('C40: behind an operation route the authorizer answers first; with a token the function answers as $default would', async () => {
    const bare = await fetch(`${s.base}/Binary/x/y`, { method: 'DELETE' });
    expect([bare.status, await bare.json()]).toEqual([401, { message: 'Unauthorized' }]);
    const unknownJob = await s.fetch('/Binary/%24export/no-such-job');
    expect([unknownJob.status, await outcome(unknownJob)]).toEqual([404, 'OperationOutcome']);
    const encodedUpload = await s.fetch('/Binary/%24upload/no-such-upload', { method: 'DELETE' });
    expect([encodedUpload.status, await outcome(encodedUpload)]).toEqual([404, 'OperationOutcome']);
  });
});
