import { randomBytes, randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { makeClients } from '../../functions/adapters/clients';
import { S3BlobStore } from '../../functions/adapters/s3-blob-store';
import { S3MultipartStore } from '../../functions/adapters/s3-multipart';
import { StoredBytesMismatchError } from '../../functions/core/ports';
import { wiring } from '../../functions/wiring';
import { startServer, type TestServer } from '../support/server';

/*
 * #14.8: committed version objects are never replaced. The stack's bucket policy refuses every
 * object-creating request on tenant keys without `If-None-Match: *` (infra/storage.ts), so the
 * adapters send it on PutObject and CompleteMultipartUpload and copy by UploadPartCopy, never
 * CopyObject. moto enforces no bucket policy, but it does enforce the header itself (412): these
 * tests check both the requests sent and that an existing object survives each write path.
 */
const MiB = 1024 * 1024;
let s: TestServer;
beforeAll(async () => {
  s = await startServer('once');
});
afterAll(() => s.close());

interface Sent {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
}

/** A fresh S3 client on the run's moto that records every request it sends. */
function recordingClient() {
  const { appConfig } = wiring();
  const { s3 } = makeClients(appConfig);
  const sent: Sent[] = [];
  s3.middlewareStack.add(
    (next) => async (args) => {
      const r = args.request as Sent;
      sent.push({ method: r.method, path: r.path, query: { ...r.query }, headers: { ...r.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests' },
  );
  return { s3, bucket: appConfig.bucketName, sent };
}

const bytesOf = async (s3: ReturnType<typeof recordingClient>['s3'], bucket: string, key: string) => {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
};

const keyOf = () => `${s.org}/Binary/once/${randomUUID()}`;

describe('#14.8 create-only writes of version objects', () => {
  test('the emulator refuses a PutObject with If-None-Match: * over an existing object (412)', async () => {
    const { s3, bucket } = recordingClient();
    const key = keyOf();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'first', IfNoneMatch: '*' }));
    await expect(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'second', IfNoneMatch: '*' })),
    ).rejects.toMatchObject({ name: 'PreconditionFailed' });
    expect((await bytesOf(s3, bucket, key)).toString()).toBe('first');
  });

  test('put sends If-None-Match: *, never replaces an object, and takes its own lost attempt as stored', async () => {
    const { s3, bucket, sent } = recordingClient();
    const blobs = new S3BlobStore(s3, bucket);
    const key = keyOf();
    const first = randomBytes(1000);
    await blobs.put(key, first, { contentType: 'application/octet-stream' });
    const puts = sent.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.headers['if-none-match'])).toEqual(['*']);
    // A retry of the same write (its first answer lost) finds its own bytes: verified, no error.
    await blobs.put(key, first, { contentType: 'application/octet-stream' });
    // Other bytes under the key are refused and the stored object is untouched.
    await expect(
      blobs.put(key, randomBytes(1001), { contentType: 'application/octet-stream' }),
    ).rejects.toBeInstanceOf(StoredBytesMismatchError);
    expect((await bytesOf(s3, bucket, key)).equals(first)).toBe(true);
  });

  test('C19: copy is UploadPartCopy plus a create-only completion, never CopyObject; small and multi-part', async () => {
    const { s3, bucket, sent } = recordingClient();
    const blobs = new S3BlobStore(s3, bucket, { partBytes: 5 * MiB, parallel: 2 });
    for (const size of [10, 11 * MiB]) {
      sent.length = 0;
      const body = randomBytes(size);
      const from = keyOf();
      const to = keyOf();
      await blobs.put(from, body, { contentType: 'application/pdf' });
      await blobs.copy(from, to, size, { contentType: 'text/csv' });
      const copies = sent.filter((r) => r.headers['x-amz-copy-source'] !== undefined);
      expect(copies.length).toBe(Math.ceil(size / (5 * MiB)));
      // Every copying request is an UploadPartCopy (a part of a multipart upload).
      for (const c of copies)
        expect(c.query).toEqual(expect.objectContaining({ uploadId: expect.any(String) }));
      const completions = sent.filter((r) => r.method === 'POST' && r.query.uploadId !== undefined);
      expect(completions.map((r) => r.headers['if-none-match'])).toEqual(['*']);
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: to }));
      expect(out.ContentType).toBe('text/csv');
      expect(out.ContentDisposition).toBe('attachment');
      expect(Buffer.from(await out.Body!.transformToByteArray()).equals(body)).toBe(true);
    }
  });

  test('C30: a completion sends If-None-Match: * and never replaces an object already under the key', async () => {
    const { s3, bucket, sent } = recordingClient();
    const multipart = new S3MultipartStore(s3, bucket);
    const blobs = new S3BlobStore(s3, bucket);
    const key = keyOf();
    const existing = randomBytes(64);
    await blobs.put(key, existing, { contentType: 'application/octet-stream' });
    const uploadId = await multipart.create(key, { contentType: 'application/octet-stream' });
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: 1,
        Body: randomBytes(64),
      }),
    );
    sent.length = 0;
    // Resolves (the key is new per upload, so an object there is this upload's own earlier
    // completion); the caller then checks the object's size and digest (core/upload.ts).
    await multipart.complete(key, uploadId, [{ partNumber: 1, size: 64, etag: part.ETag! }]);
    expect(sent.map((r) => r.headers['if-none-match'])).toEqual(['*']);
    expect((await bytesOf(s3, bucket, key)).equals(existing)).toBe(true);
  });
});
