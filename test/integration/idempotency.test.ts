/**
 * C41 Idempotency-Key (#13): a retry returns the first answer without a second write; the same
 * key with another request → 422; keys are per tenant and expire; concurrent retries make one
 * resource.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Binary, Bundle } from 'fhir/r4';
import { keys } from '../../functions/adapters/dynamo-schema';
import { appDeps } from '../../functions/wiring';
import { mintToken } from '../../local/dev-auth';
import { b64, expectOutcome } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('idem');
});
afterAll(() => s.close());

const key = () => `k-${Math.random().toString(36).slice(2)}`;
const count = async () => ((await (await s.fetch('/Binary?_summary=count')).json()) as Bundle).total!;
const post = (k: string, body = 'hello', headers: Record<string, string> = {}) =>
  s.fetch('/Binary', {
    method: 'POST',
    body,
    headers: { 'content-type': 'text/plain', 'idempotency-key': k, ...headers },
  });

describe('C41 Idempotency-Key', () => {
  test('C41: a retried create returns the first answer, marked as a replay, and creates nothing', async () => {
    const before = await count();
    const k = key();
    const first = await post(k);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await post(k);
    expect(again.status).toBe(201);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    expect(again.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await count()).toBe(before + 1);
  });

  test('C41: the same key with a different request → 422, nothing written', async () => {
    const k = key();
    expect((await post(k, 'one')).status).toBe(201);
    const before = await count();
    await expectOutcome(await post(k, 'two'), 422, 'business-rule');
    await expectOutcome(await post(k, 'one', { 'x-security-context': 'Patient/1' }), 422, 'business-rule');
    const put = await s.fetch('/Binary/idem-other', {
      method: 'PUT',
      body: 'one',
      headers: { 'content-type': 'text/plain', 'idempotency-key': k },
    });
    await expectOutcome(put, 422, 'business-rule');
    expect(await count()).toBe(before);
  });

  test('C41: 10 concurrent creates with one key make one resource', async () => {
    const before = await count();
    const k = key();
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(k, 'race')));
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((st) => st === 201 || st === 409)).toBe(true);
    expect(statuses).toContain(201);
    for (const r of answers.filter((a) => a.status === 409)) {
      expect(r.headers.get('retry-after')).toBe('1');
      await expectOutcome(r, 409, 'conflict');
    }
    const locations = new Set(answers.filter((a) => a.status === 201).map((a) => a.headers.get('location')));
    expect(locations.size).toBe(1);
    expect(await count()).toBe(before + 1);
    // Once the first has finished, every retry gets its answer.
    const late = await post(k, 'race');
    expect(late.status).toBe(201);
    expect(late.headers.get('location')).toBe([...locations][0]);
  });

  test('C41: keys are per tenant: the same key in another organization is a new request', async () => {
    const k = key();
    const mine = await post(k);
    const otherOrg = `${s.org}-b`;
    const token = await mintToken({ organizations: [otherOrg] });
    const theirs = await fetch(`${s.origin}/organizations/${otherOrg}/fhir/4/Binary`, {
      method: 'POST',
      body: 'hello',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'idempotency-key': k },
    });
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.headers.get('location')).not.toBe(mine.headers.get('location'));
  });

  test('C41: PUT and PATCH retries make no second version; FHIR JSON answers replay with their body', async () => {
    const id = `idem-${Math.random().toString(36).slice(2, 8)}`;
    const k1 = key();
    const body = JSON.stringify({ resourceType: 'Binary', id, contentType: 'text/plain', data: b64('v1') });
    const put = () =>
      s.fetch(`/Binary/${id}`, {
        method: 'PUT',
        body,
        headers: { 'content-type': 'application/fhir+json', 'idempotency-key': k1 },
      });
    const p1 = await put();
    expect(p1.status).toBe(201);
    const r1 = (await p1.json()) as Binary;
    const p2 = await put();
    expect(p2.status).toBe(201);
    expect(await p2.json()).toEqual(r1);
    const k2 = key();
    const patch = () =>
      s.fetch(`/Binary/${id}`, {
        method: 'PATCH',
        body: JSON.stringify([{ op: 'replace', path: '/contentType', value: 'text/markdown' }]),
        headers: { 'content-type': 'application/json-patch+json', 'idempotency-key': k2 },
      });
    expect((await patch()).headers.get('etag')).toBe('W/"2"');
    const again = await patch();
    expect(again.status).toBe(200);
    expect(again.headers.get('etag')).toBe('W/"2"');
    expect((await s.fetch(`/Binary/${id}`)).headers.get('etag')).toBe('W/"2"');
  });

  test('C41: a large FHIR JSON answer is replayed in full (read again from its version)', async () => {
    const k = key();
    const data = b64(Buffer.alloc(400 * 1024, 7));
    const send = () =>
      s.fetch('/Binary', {
        method: 'POST',
        body: JSON.stringify({ resourceType: 'Binary', contentType: 'application/octet-stream', data }),
        headers: { 'content-type': 'application/fhir+json', 'idempotency-key': k },
      });
    const r1 = await send();
    expect(r1.status).toBe(201);
    const first = (await r1.json()) as Binary;
    const replay = await send();
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(first);
  });

  test('C41: a retried $upload start returns the same upload', async () => {
    const k = key();
    const start = () =>
      s.fetch('/Binary/$upload', {
        method: 'POST',
        body: JSON.stringify({ contentType: 'application/pdf', size: 6 * 1024 * 1024 }),
        headers: { 'content-type': 'application/json', 'idempotency-key': k },
      });
    const a = (await (await start()).json()) as { uploadId: string; id: string };
    const b = (await (await start()).json()) as { uploadId: string; id: string };
    expect(b.uploadId).toBe(a.uploadId);
    expect(b.id).toBe(a.id);
  });

  test('C41: a malformed key → 400; a failed request is not kept, so its retry runs again', async () => {
    await expectOutcome(await post('has space'), 400, 'value');
    await expectOutcome(await post('x'.repeat(256)), 400, 'value');
    const k = key();
    const bad = () =>
      s.fetch('/Binary', {
        method: 'POST',
        body: '{"resourceType":"Binary"}',
        headers: { 'content-type': 'application/fhir+json', 'idempotency-key': k },
      });
    await expectOutcome(await bad(), 400, 'required');
    await expectOutcome(await bad(), 400, 'required');
  });

  test('C41: the key is stored under the tenant’s K# partition with a TTL 24 h ahead', async () => {
    const k = key();
    expect((await post(k)).status).toBe(201);
    const { clients, appConfig } = appDeps();
    const out = await clients.ddb.send(
      new QueryCommand({
        TableName: appConfig.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.idempotency(s.org) },
      }),
    );
    expect(out.Items!.length).toBeGreaterThan(0);
    const now = Date.now() / 1000;
    for (const item of out.Items!) {
      expect(item.ttl).toBeGreaterThan(now + 24 * 3600 - 120);
      expect(item.ttl).toBeLessThan(now + 24 * 3600 + 120);
    }
    const one = await clients.ddb.send(
      new GetCommand({
        TableName: appConfig.tableName,
        Key: { pk: out.Items![0]!.pk, sk: out.Items![0]!.sk },
      }),
    );
    expect(one.Item?.status).toBe('COMPLETED');
  });
});
