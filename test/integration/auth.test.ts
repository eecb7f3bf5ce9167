import { mintToken } from '../../local/dev-auth';
import { expectGateway } from '../support/fhir';
import { storedFor } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('auth');
});
afterAll(() => s.close());

const post = (token: string | undefined, org = s.org) =>
  fetch(`${s.origin}/organizations/${org}/fhir/4/Binary`, {
    method: 'POST',
    body: 'x',
    headers: { 'content-type': 'text/plain', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

async function expectOutcome(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  const oo = await res.json();
  expect(oo.resourceType).toBe('OperationOutcome');
  expect(oo.issue[0].code).toBe(code);
  expect(oo.issue[0].diagnostics).toEqual(expect.any(String));
  return oo;
}

describe('C2 auth', () => {
  test('C2/C40: no token → the authorizer’s 401 with WWW-Authenticate: Bearer', async () => {
    const res = await post(undefined);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    await expectGateway(res, 401, 'Unauthorized');
  });

  test('C2/C40: a token not signed by the dev key → the authorizer’s 401', async () => {
    const t = await mintToken({ organizations: [s.org] });
    const [h, p] = t.split('.');
    const res = await post(`${h}.${p}.AAAA`);
    await expectGateway(res, 401, 'Unauthorized');
  });

  test('C2: a token for another tenant → 403 forbidden, nothing stored', async () => {
    const other = await mintToken({ organizations: ['someone-else'] });
    await expectOutcome(await post(other), 403, 'forbidden');
    expect((await storedFor(s.org)).items).toHaveLength(0);
  });

  test('C2/C40: read-only scope cannot write; write-only scope cannot read (the authorizer’s 403)', async () => {
    const reader = await mintToken({ organizations: [s.org], scope: 'system/Binary.read' });
    await expectGateway(await post(reader), 403, 'Forbidden');
    const writer = await mintToken({ organizations: [s.org], scope: 'system/Binary.write' });
    const created = await post(writer);
    expect(created.status).toBe(201);
    const loc = created.headers.get('location')!;
    const read = await fetch(loc, { headers: { authorization: `Bearer ${writer}` } });
    await expectGateway(read, 403, 'Forbidden');
    const ok = await fetch(loc, { headers: { authorization: `Bearer ${reader}` } });
    expect(ok.status).toBe(200);
  });

  test('C2: user/ scopes, SMART v2 rs/cud and the "*" organization are accepted', async () => {
    const cud = await mintToken({ organizations: '*', scope: 'user/Binary.cud user/Binary.rs' });
    const created = await post(cud);
    expect(created.status).toBe(201);
    const read = await fetch(created.headers.get('location')!, {
      headers: { authorization: `Bearer ${cud}` },
    });
    expect(read.status).toBe(200);
  });

  test('C1: an organizationId outside [A-Za-z0-9-.]{1,64} → 400', async () => {
    const star = await mintToken({ organizations: '*' });
    await expectOutcome(await post(star, 'bad_org!'), 400, 'value');
    await expectOutcome(await post(star, 'a'.repeat(65)), 400, 'value');
  });

  test('C1: one tenant cannot read another tenant’s Binary', async () => {
    const created = await post(s.token);
    const loc = created.headers.get('location')!;
    const id = loc.split('/Binary/')[1]!.split('/')[0]!;
    const star = await mintToken({ organizations: ['org-b'] });
    const res = await fetch(`${s.origin}/organizations/org-b/fhir/4/Binary/${id}`, {
      headers: { authorization: `Bearer ${star}` },
    });
    await expectOutcome(res, 404, 'not-found');
  });
});
