import { createHash, randomBytes } from 'node:crypto';
import { makeClients } from '../../functions/adapters/clients';
import { S3BlobStore } from '../../functions/adapters/s3-blob-store';
import { overrideWiring, resetWiring, wiring } from '../../functions/wiring';
import { sweepExpiredIntents } from '../../local/sweeper';
import { createRaw, expectOutcome } from '../support/fhir';
import { storedFor } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

/*
 * #11 item 3: every stored object is checked against what was sent, so a fault between the
 * function and the store (here: a transport that drops the last bytes of every PutObject, as a
 * faulty emulator or proxy would) is a 503 with nothing stored — never a silently wrong version.
 */
const MiB = 1024 * 1024;
let s: TestServer;
beforeAll(async () => {
  s = await startServer('bytes');
});
afterAll(() => s.close());
afterEach(() => resetWiring());

/** The real S3 adapter over a client whose PutObject bodies lose their last `drop` bytes on the way. */
function truncatingBlobs(drop: number): S3BlobStore {
  const { appConfig } = wiring();
  const { s3 } = makeClients(appConfig);
  s3.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method?: string; body?: unknown; headers?: Record<string, string> };
      const body = req.body;
      if (req.method === 'PUT' && body instanceof Uint8Array && !req.headers?.['x-amz-copy-source']) {
        req.body = body.subarray(0, Math.max(0, body.length - drop));
        if (req.headers) req.headers['content-length'] = String(body.length - drop);
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'truncateBodies' },
  );
  return new S3BlobStore(s3, appConfig.bucketName);
}

describe('#11 no lost bytes', () => {
  test('C7: a create whose bytes arrive short in storage → 503, nothing stored; a retry without the fault → 201', async () => {
    overrideWiring({ blobs: truncatingBlobs(1) });
    const body = randomBytes(1000);
    const res = await s.fetch('/Binary', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.headers.get('retry-after')).toBe('1');
    const oo = await expectOutcome(res, 503, 'transient');
    expect(oo.issue[0]!.diagnostics).toMatch(/nothing was stored/);
    // The wrong bytes went to the reaper (#14.8: writers never delete); once it ran, nothing is left.
    await sweepExpiredIntents();
    expect(await storedFor(s.org)).toEqual({ objects: [], items: [] });
    resetWiring();
    const id = await createRaw(s, body);
    expect(Buffer.from(await (await s.fetch(`/Binary/${id}`)).arrayBuffer()).equals(body)).toBe(true);
  });

  test('C7: an update whose bytes arrive short → 503 and the current version stays', async () => {
    const id = await createRaw(s, 'v1', 'text/plain');
    overrideWiring({ blobs: truncatingBlobs(2) });
    const res = await s.fetch(`/Binary/${id}`, {
      method: 'PUT',
      body: 'version two',
      headers: { 'content-type': 'text/plain' },
    });
    await expectOutcome(res, 503, 'transient');
    resetWiring();
    expect(await (await s.fetch(`/Binary/${id}`)).text()).toBe('v1');
  });

  test('C11/C29: an upload part PUT with a form content type is stored byte for byte', async () => {
    const file = randomBytes(5 * MiB + 10);
    const sha = createHash('sha256').update(file).digest('base64');
    const res = await s.fetch('/Binary/$upload', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contentType: 'text/plain', size: file.length, sha256: sha, partSize: 5 * MiB }),
    });
    const up = await res.json();
    for (const [i, type] of [
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ].entries()) {
      const put = await fetch(up.parts[i].url, {
        method: 'PUT',
        body: file.subarray(i * 5 * MiB, (i + 1) * 5 * MiB),
        headers: { 'content-type': type },
      });
      expect(put.status).toBe(200);
    }
    const status = await (await s.fetch(`/Binary/$upload/${up.uploadId}`)).json();
    expect(status.uploaded).toEqual([
      { partNumber: 1, size: 5 * MiB },
      { partNumber: 2, size: 10 },
    ]);
    expect((await s.fetch(up.complete, { method: 'POST' })).status).toBe(201);
  });
});
