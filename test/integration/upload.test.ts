import { createHash, randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { keys } from '../../functions/adapters/dynamo-schema';
import { handler as reaper } from '../../functions/handlers/reaper';
import { appDeps } from '../../functions/wiring';
import { mintToken } from '../../local/dev-auth';
import { sweepExpiredIntents } from '../../local/sweeper';
import { startServer, type TestServer } from '../support/server';

const MiB = 1024 * 1024;
let s: TestServer;
beforeAll(async () => {
  s = await startServer('upload');
});
afterAll(() => s.close());

const sha64 = (b: Uint8Array) => createHash('sha256').update(b).digest('base64');
const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});

interface Started {
  uploadId: string;
  id: string;
  partSize: number;
  parts: { partNumber: number; url: string }[];
  complete: string;
  abort: string;
  expiresAt: string;
}

async function start(body: Record<string, unknown>, path = '/Binary/$upload'): Promise<Started> {
  const res = await s.fetch(path, json({ partSize: 5 * MiB, ...body }));
  expect(res.status).toBe(201);
  return (await res.json()) as Started;
}

async function putPart(file: Buffer, partSize: number, part: { partNumber: number; url: string }) {
  const from = (part.partNumber - 1) * partSize;
  const res = await fetch(part.url, {
    method: 'PUT',
    body: file.subarray(from, from + partSize) as unknown as BodyInit,
  });
  expect(res.status).toBe(200);
}

// 11 MiB + a bit in 5 MiB parts: three parts, the last one short.
const file = randomBytes(11 * MiB + 12345);

describe('C28–C30 $upload', () => {
  test('C28/C30/C19: start, PUT parts, complete without ETags → 201 version; raw read → 307 with Range', async () => {
    const up = await start({ contentType: 'application/pdf', size: file.length, sha256: sha64(file) });
    expect(up.partSize).toBe(5 * MiB);
    expect(up.parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect(up.complete).toBe(`${s.base}/Binary/$upload/${up.uploadId}/complete`);
    expect(Date.parse(up.expiresAt)).toBeGreaterThan(Date.now());
    // C28: part URLs expire within the hour.
    const expires = Number(new URL(up.parts[0]!.url).searchParams.get('X-Amz-Expires'));
    expect(expires).toBeGreaterThan(0);
    expect(expires).toBeLessThanOrEqual(3600);
    await Promise.all(up.parts.map((p) => putPart(file, up.partSize, p)));

    const done = await s.fetch(up.complete, { method: 'POST' });
    expect(done.status).toBe(201);
    expect(done.headers.get('location')).toBe(`${s.base}/Binary/${up.id}/_history/1`);
    expect(done.headers.get('etag')).toBe('W/"1"');

    const read = await s.fetch(`/Binary/${up.id}`, { redirect: 'manual' });
    expect(read.status).toBe(307);
    const url = read.headers.get('location')!;
    expect(Number(new URL(url).searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    const whole = await fetch(url);
    expect(whole.headers.get('content-type')).toBe('application/pdf');
    expect(whole.headers.get('content-disposition')).toBe('attachment');
    expect(sha64(Buffer.from(await whole.arrayBuffer()))).toBe(sha64(file));
    const tail = await fetch(url, { headers: { range: 'bytes=-1024' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(file.subarray(file.length - 1024))).toBe(true);

    // C31: the FHIR JSON form leaves the data out.
    const fhir = await (
      await s.fetch(`/Binary/${up.id}`, { headers: { accept: 'application/fhir+json' } })
    ).json();
    expect(fhir.data).toBeUndefined();
    expect(fhir._data.extension[0].valueCode).toBe('unsupported');
    // C29/C30: the session remembers the completion: status says so, and a repeat answers alike.
    const st = await s.fetch(`/Binary/$upload/${up.uploadId}`);
    expect(st.status).toBe(200);
    expect(await st.json()).toMatchObject({ state: 'completed', location: done.headers.get('location') });
    const again = await s.fetch(up.complete, { method: 'POST' });
    expect(again.status).toBe(201);
    expect(again.headers.get('location')).toBe(done.headers.get('location'));
    expect(again.headers.get('etag')).toBe('W/"1"');
    expect(
      (
        await s
          .fetch(`/Binary/${up.id}/_history`, { headers: { accept: 'application/fhir+json' } })
          .then((r) => r.json())
      ).total,
    ).toBe(1);
    // Aborting what completed is a conflict, not a deletion.
    expect((await s.fetch(up.abort, { method: 'DELETE' })).status).toBe(409);
  });

  test('C29: an interrupted upload resumes through status and uploads only the missing part', async () => {
    const up = await start({ contentType: 'application/octet-stream', size: file.length });
    await putPart(file, up.partSize, up.parts[0]!);
    await putPart(file, up.partSize, up.parts[2]!);

    const early = await s.fetch(up.complete, { method: 'POST' });
    expect(early.status).toBe(422);
    expect((await early.json()).issue[0].diagnostics).toMatch(/Parts 2 of 3/);

    const st = await s.fetch(`/Binary/$upload/${up.uploadId}`);
    expect(st.status).toBe(200);
    const status = await st.json();
    expect(status.uploaded).toEqual([
      { partNumber: 1, size: 5 * MiB },
      { partNumber: 3, size: file.length - 10 * MiB },
    ]);
    expect(status.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([2]);
    await putPart(file, up.partSize, status.parts[0]);

    const done = await s.fetch(up.complete, { method: 'POST' });
    expect(done.status).toBe(201);
    const read = await s.fetch(`/Binary/${up.id}`);
    expect(read.status).toBe(200); // redirect followed to the presigned URL
    expect(sha64(Buffer.from(await read.arrayBuffer()))).toBe(sha64(file));
  });

  test('C30: a declared size that does not match → 422, no version, bytes deleted', async () => {
    const up = await start({ contentType: 'text/plain', size: file.length + 1 });
    const session = (await appDeps().sessions.get(up.uploadId))!;
    await Promise.all(up.parts.map((p) => putPart(file, up.partSize, p)));
    const res = await s.fetch(up.complete, { method: 'POST' });
    expect(res.status).toBe(422);
    expect((await res.json()).issue[0].diagnostics).toMatch(/declared size/);
    expect((await s.fetch(`/Binary/${up.id}`)).status).toBe(404);
    const deps = appDeps();
    expect((await deps.sessions.get(up.uploadId))?.ended).toBe('rejected');
    expect((await s.fetch(`/Binary/$upload/${up.uploadId}`)).status).toBe(404);
    // A repeated completion gives the same answer.
    const again = await s.fetch(up.complete, { method: 'POST' });
    expect(again.status).toBe(422);
    expect((await again.json()).issue[0].diagnostics).toMatch(/declared size/);
    expect(await deps.multipart.listParts(session.blobKey, session.storeUploadId)).toBeUndefined();
    // The assembled object went to the reaper (#14.8: writers never delete objects).
    await sweepExpiredIntents();
    expect(await deps.multipart.head(session.blobKey)).toBeUndefined();
  });

  test('C30: a declared sha256 that does not match → 422, no version, object reaped', async () => {
    const other = Buffer.from(file);
    other[5] = (other[5]! + 1) % 256;
    const up = await start({ contentType: 'text/plain', size: file.length, sha256: sha64(other) });
    const deps = appDeps();
    const blobKey = (await deps.sessions.get(up.uploadId))!.blobKey;
    await Promise.all(up.parts.map((p) => putPart(file, up.partSize, p)));
    const res = await s.fetch(up.complete, { method: 'POST' });
    expect(res.status).toBe(422);
    expect((await res.json()).issue[0].diagnostics).toMatch(/SHA-256/);
    expect((await s.fetch(`/Binary/${up.id}`)).status).toBe(404);
    await sweepExpiredIntents();
    expect(await deps.multipart.head(blobKey)).toBeUndefined();
  });

  test('C28: a start over the limits → 413 (1 GiB new, 2 GiB update); bad input → 400', async () => {
    const over = await s.fetch('/Binary/$upload', json({ contentType: 'text/plain', size: 1024 * MiB + 1 }));
    expect(over.status).toBe(413);
    expect((await over.json()).issue[0].code).toBe('too-long');
    // A new id through {id}/$upload is a create too.
    expect(
      (
        await s.fetch(
          '/Binary/not-there-yet/$upload',
          json({ contentType: 'text/plain', size: 1024 * MiB + 1 }),
        )
      ).status,
    ).toBe(413);
    const created = await s.fetch('/Binary', {
      method: 'POST',
      body: 'v1',
      headers: { 'content-type': 'text/plain' },
    });
    const id = /Binary\/([^/]+)\/_history/.exec(created.headers.get('location')!)![1]!;
    expect(
      (await s.fetch(`/Binary/${id}/$upload`, json({ contentType: 'text/plain', size: 2048 * MiB + 1 })))
        .status,
    ).toBe(413);
    const ok = await s.fetch(`/Binary/${id}/$upload`, json({ contentType: 'text/plain', size: 1536 * MiB }));
    expect(ok.status).toBe(201);
    const big = await ok.json();
    // Server-chosen part size: at least 5 MiB, at most 10,000 parts.
    expect(big.partSize).toBeGreaterThanOrEqual(5 * MiB);
    expect(big.parts.length).toBeLessThanOrEqual(10_000);
    expect((await s.fetch(big.abort, { method: 'DELETE' })).status).toBe(204);

    for (const body of [
      { size: 10 },
      { contentType: 'text/plain' },
      { contentType: 'text/plain', size: -1 },
      { contentType: 'text/plain', size: 10, partSize: 1024 },
      { contentType: 'text/plain', size: 10, sha256: 'abc' },
    ]) {
      expect((await s.fetch('/Binary/$upload', json(body))).status).toBe(400);
    }
  });

  test('C30: abort → 204, then the upload is gone and its parts are dropped', async () => {
    const up = await start({ contentType: 'text/plain', size: file.length });
    await putPart(file, up.partSize, up.parts[0]!);
    const deps = appDeps();
    const session = (await deps.sessions.get(up.uploadId))!;
    expect((await s.fetch(up.abort, { method: 'DELETE' })).status).toBe(204);
    expect((await s.fetch(`/Binary/$upload/${up.uploadId}`)).status).toBe(404);
    expect(await deps.multipart.listParts(session.blobKey, session.storeUploadId)).toBeUndefined();
    // A second abort (a retry whose first answer was lost) is 204 too; completing it is 404.
    expect((await s.fetch(up.abort, { method: 'DELETE' })).status).toBe(204);
    expect((await s.fetch(up.complete, { method: 'POST' })).status).toBe(404);
  });

  test('C30: the right total in wrong part sizes (S3 EntityTooSmall) → 422 naming the parts; fixed parts complete', async () => {
    const up = await start({ contentType: 'application/octet-stream', size: file.length });
    // Part 1 one MiB short and part 2 one MiB long: the total is right, the pieces are not.
    const cut = [0, 4 * MiB, 10 * MiB, file.length];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(up.parts[i]!.url, {
        method: 'PUT',
        body: file.subarray(cut[i]!, cut[i + 1]!) as unknown as BodyInit,
      });
      expect(res.status).toBe(200);
    }
    const res = await s.fetch(up.complete, { method: 'POST' });
    expect(res.status).toBe(422);
    const outcome = await res.json();
    expect(outcome.issue[0].code).toBe('business-rule');
    expect(outcome.issue[0].diagnostics).toMatch(/part 1 has 4194304 bytes, must have 5242880/);
    expect(outcome.issue[0].diagnostics).toMatch(/part 2 has 6291456 bytes, must have 5242880/);
    expect((await s.fetch(`/Binary/${up.id}`)).status).toBe(404);
    // The session lives on: status hands out URLs for the wrong parts; re-upload them and complete.
    const status = await (await s.fetch(`/Binary/$upload/${up.uploadId}`)).json();
    expect(status.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([1, 2]);
    await Promise.all(
      status.parts.map((p: { partNumber: number; url: string }) => putPart(file, up.partSize, p)),
    );
    const done = await s.fetch(up.complete, { method: 'POST' });
    expect(done.status).toBe(201);
    const read = await s.fetch(`/Binary/${up.id}`);
    expect(sha64(Buffer.from(await read.arrayBuffer()))).toBe(sha64(file));
  });

  test("C30/C1: another tenant's upload is 404 for status, complete and abort", async () => {
    const up = await start({ contentType: 'text/plain', size: file.length });
    const other = 'upload-other-tenant';
    const token = await mintToken({ organizations: [other] });
    const base = `${s.origin}/organizations/${other}/fhir/4/Binary/$upload/${up.uploadId}`;
    const h = { authorization: `Bearer ${token}` };
    expect((await fetch(base, { headers: h })).status).toBe(404);
    expect((await fetch(`${base}/complete`, { method: 'POST', headers: h })).status).toBe(404);
    expect((await fetch(base, { method: 'DELETE', headers: h })).status).toBe(404);
    // Still alive for its owner.
    expect((await s.fetch(`/Binary/$upload/${up.uploadId}`)).status).toBe(200);
  });

  test('C21/C20: If-Match on completion of an update → 412 when stale, 200 when current', async () => {
    const created = await s.fetch('/Binary', {
      method: 'POST',
      body: 'v1',
      headers: { 'content-type': 'text/plain' },
    });
    const id = /Binary\/([^/]+)\/_history/.exec(created.headers.get('location')!)![1]!;
    const up = await start({ contentType: 'application/pdf', size: file.length }, `/Binary/${id}/$upload`);
    expect(up.id).toBe(id);
    await Promise.all(up.parts.map((p) => putPart(file, up.partSize, p)));
    const stale = await s.fetch(up.complete, { method: 'POST', headers: { 'if-match': 'W/"2"' } });
    expect(stale.status).toBe(412);
    const res = await s.fetch(up.complete, { method: 'POST', headers: { 'if-match': 'W/"1"' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('W/"2"');
    expect(res.headers.get('location')).toBeNull();
    const v1 = await s.fetch(`/Binary/${id}/_history/1`);
    expect(await v1.text()).toBe('v1');
  });

  test('C30: an expired upload intent makes the reaper abort the multipart upload', async () => {
    const up = await start({ contentType: 'text/plain', size: file.length });
    await putPart(file, up.partSize, up.parts[0]!);
    const deps = appDeps();
    const session = (await deps.sessions.get(up.uploadId))!;
    const app = appDeps();
    const { Item } = await app.clients.ddb.send(
      new GetCommand({ TableName: app.appConfig.tableName, Key: keys.intent(session.blobKey) }),
    );
    expect(Item?.multipartUploadId).toBe(session.storeUploadId);
    // What DynamoDB's TTL deletion streams (moto never expires items).
    const event: DynamoDBStreamEvent = {
      Records: [
        {
          eventName: 'REMOVE',
          userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
          dynamodb: { OldImage: marshall(Item!) as never, SequenceNumber: '1' },
        },
      ],
    };
    expect((await reaper(event)).batchItemFailures).toEqual([]);
    expect(await deps.multipart.listParts(session.blobKey, session.storeUploadId)).toBeUndefined();
  });
});
