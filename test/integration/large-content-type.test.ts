import { createHash, randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../../functions/adapters/dynamo-schema';
import { S3BlobStore } from '../../functions/adapters/s3-blob-store';
import { appDeps } from '../../functions/wiring';
import { startServer, type TestServer } from '../support/server';

/** C19/C22 (#13.7): a presigned read serves the Content-Type of the version it reads. */
const MiB = 1024 * 1024;
let s: TestServer;
beforeAll(async () => {
  s = await startServer('bigtype');
});
afterAll(() => s.close());

const sha64 = (b: Uint8Array) => createHash('sha256').update(b).digest('base64');
const app = () => appDeps();
const file = randomBytes(11 * MiB + 12345);

async function put(url: string, bytes: Buffer) {
  const res = await fetch(url, { method: 'PUT', body: bytes as unknown as BodyInit });
  expect(res.status).toBe(200);
}

/** A new Binary of `bytes` through $upload (5 MiB parts). */
async function upload(bytes: Buffer, contentType: string): Promise<string> {
  const res = await s.fetch('/Binary/$upload', {
    method: 'POST',
    body: JSON.stringify({ contentType, size: bytes.length, partSize: 5 * MiB }),
    headers: { 'content-type': 'application/json' },
  });
  expect(res.status).toBe(201);
  const up = await res.json();
  for (const p of up.parts as { partNumber: number; url: string }[]) {
    const from = (p.partNumber - 1) * up.partSize;
    await put(p.url, bytes.subarray(from, from + up.partSize));
  }
  expect((await s.fetch(up.complete, { method: 'POST' })).status).toBe(201);
  return up.id;
}

const intentExists = async (blobKey: string) => {
  const a = app();
  const { Item } = await a.clients.ddb.send(
    new GetCommand({
      TableName: a.appConfig.tableName,
      Key: keys.intent(blobKey),
      ConsistentRead: true,
    }),
  );
  return Item !== undefined;
};
const objectsOf = async (id: string) => {
  const a = app();
  const out = await a.clients.s3.send(
    new ListObjectsV2Command({ Bucket: a.appConfig.bucketName, Prefix: `${s.org}/Binary/${id}/` }),
  );
  return (out.Contents ?? []).map((o) => o.Key!).sort();
};

describe('C19 #13.7: a large Binary serves the Content-Type of each version', () => {
  test('C19/C22: PATCH /contentType on a Binary over 4 MiB → the 307 URL serves the new type; v1 keeps the old', async () => {
    const big = file.subarray(0, 6 * MiB);
    const up = { id: await upload(big, 'application/pdf') };
    const patched = await s.fetch(`/Binary/${up.id}`, {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'replace', path: '/contentType', value: 'image/png' }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(patched.status).toBe(200);

    const served = async (path: string) => {
      const r = await s.fetch(path, { redirect: 'manual' });
      expect(r.status).toBe(307);
      const got = await fetch(r.headers.get('location')!);
      const bytes = Buffer.from(await got.arrayBuffer());
      return {
        type: got.headers.get('content-type'),
        disposition: got.headers.get('content-disposition'),
        bytes,
      };
    };
    const now = await served(`/Binary/${up.id}`);
    expect(now.type).toBe('image/png');
    expect(now.disposition).toBe('attachment');
    expect(now.bytes.equals(big)).toBe(true);
    const v1 = await served(`/Binary/${up.id}/_history/1`);
    expect(v1.type).toBe('application/pdf');
    expect(v1.bytes.equals(big)).toBe(true);
    // The copy is a committed object of its own: no intent left behind.
    const objects = await objectsOf(up.id);
    expect(objects).toHaveLength(2);
    for (const key of objects) expect(await intentExists(key)).toBe(false);
  });

  test('C19: a large copy goes by parallel part copies with the new metadata', async () => {
    const a = app();
    // Tuned down so 11 MiB takes several parts like a 2 GiB copy: 5 MiB parts, 2 at a time.
    const blobs = new S3BlobStore(a.clients.s3, a.appConfig.bucketName, {
      partBytes: 5 * MiB,
      parallel: 2,
    });
    const from = `${s.org}/Binary/copy-source/${Date.now()}`;
    const to = `${from}-copy`;
    await blobs.put(from, file, { contentType: 'application/pdf' });
    await blobs.copy(from, to, file.length, { contentType: 'text/csv' });
    const got = await fetch(await blobs.presignGet(to, 60));
    expect(got.headers.get('content-type')).toBe('text/csv');
    expect(got.headers.get('content-disposition')).toBe('attachment');
    expect(sha64(Buffer.from(await got.arrayBuffer()))).toBe(sha64(file));
  });
});
