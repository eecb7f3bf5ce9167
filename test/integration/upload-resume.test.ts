import { createHash, randomBytes } from 'node:crypto';
import type { VersionRepository } from '../../functions/core/ports';
import type { MultipartStore, UploadSessionStore } from '../../functions/core/upload-ports';
import { appDeps, overrideWiring, resetWiring, wiring } from '../../functions/wiring';
import { versionsOf } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

/*
 * C30: a completion that is cut off — by its time budget (202 + Retry-After) or by a crash at
 * any step — resumes where it stopped, and a repeat after the end gives the same answer.
 * The sha256 check reads 5 MiB ranges and checkpoints every 5 MiB here; with a verify reserve
 * (60 s) longer than the function's timeout (29 s), every request hashes one range and pauses.
 */
const MiB = 1024 * 1024;
process.env.UPLOAD_VERIFY_RANGE_BYTES = String(5 * MiB);
process.env.UPLOAD_VERIFY_CHECKPOINT_BYTES = String(5 * MiB);
process.env.UPLOAD_VERIFY_RESERVE_MS = '60000';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('resume');
});
afterAll(() => s.close());
afterEach(() => {
  resetWiring();
  delete process.env.LOCAL_FUNCTION_TIMEOUT_SECONDS;
});

const sha64 = (b: Uint8Array) => createHash('sha256').update(b).digest('base64');
// Three 5 MiB ranges: 5 MiB, 5 MiB, 1 MiB + a bit.
const file = randomBytes(11 * MiB + 999);

interface Started {
  uploadId: string;
  id: string;
  partSize: number;
  parts: { partNumber: number; url: string }[];
  complete: string;
  abort: string;
}

async function uploaded(): Promise<Started> {
  const res = await s.fetch('/Binary/$upload', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      contentType: 'application/pdf',
      size: file.length,
      sha256: sha64(file),
      partSize: 5 * MiB,
    }),
  });
  expect(res.status).toBe(201);
  const up = (await res.json()) as Started;
  for (const p of up.parts) {
    const from = (p.partNumber - 1) * up.partSize;
    const put = await fetch(p.url, {
      method: 'PUT',
      body: file.subarray(from, from + up.partSize) as unknown as BodyInit,
    });
    expect(put.status).toBe(200);
  }
  return up;
}

/** POSTs complete until it stops answering 202; returns every status seen and the last answer. */
async function completeUntilDone(up: Started): Promise<{ statuses: number[]; res: Response }> {
  const statuses: number[] = [];
  for (;;) {
    const res = await s.fetch(up.complete, { method: 'POST' });
    statuses.push(res.status);
    if (res.status !== 202 || statuses.length > 20) return { statuses, res };
    expect(res.headers.get('retry-after')).toBe('1');
    await res.body?.cancel();
  }
}

async function expectStored(up: Started, res: Response) {
  expect(res.status).toBe(201);
  expect(res.headers.get('location')).toBe(`${s.base}/Binary/${up.id}/_history/1`);
  expect((await versionsOf(s.org, up.id)).map((v) => v.vid)).toEqual([1]);
  const read = await s.fetch(`/Binary/${up.id}`);
  expect(sha64(Buffer.from(await read.arrayBuffer()))).toBe(sha64(file));
  // A repeat after the end gives the same answer.
  const again = await s.fetch(up.complete, { method: 'POST' });
  expect(again.status).toBe(201);
  expect(again.headers.get('location')).toBe(res.headers.get('location'));
}

/** The real multipart store with some methods replaced. */
function multipartWith(over: Partial<MultipartStore>): MultipartStore {
  return Object.assign(Object.create(wiring().multipart), over);
}

/** Records the ranges the sha256 check reads. */
function recordReads(reads: number[], fail?: (start: number) => boolean) {
  const real = wiring().multipart;
  return multipartWith({
    stream(key, range) {
      reads.push(range.start);
      if (fail?.(range.start)) throw new Error('injected crash mid-hash');
      return real.stream(key, range);
    },
  });
}

describe('C30 resumable completion', () => {
  test('C30: a completion out of time answers 202 + Retry-After and continues where it stopped', async () => {
    const up = await uploaded();
    const reads: number[] = [];
    overrideWiring({ multipart: recordReads(reads) });
    const first = await s.fetch(up.complete, { method: 'POST' });
    expect(first.status).toBe(202);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(first.headers.get('content-location')).toBe(`${s.base}/Binary/$upload/${up.uploadId}`);
    expect(await first.json()).toMatchObject({ state: 'assembled', verifiedBytes: 5 * MiB });
    const status = await (await s.fetch(`/Binary/$upload/${up.uploadId}`)).json();
    expect(status).toMatchObject({ state: 'assembled', verifiedBytes: 5 * MiB, parts: [] });
    const { statuses, res } = await completeUntilDone(up);
    expect(statuses).toEqual([202, 201]);
    // Each range was hashed once, in order: nothing was read again after a pause.
    const hashed = [...new Set(reads)];
    expect(hashed).toEqual([0, 5 * MiB, 10 * MiB]);
    await expectStored(up, res);
  });

  test('C30: killed after S3 assembled the object, before that was recorded → the retry resumes', async () => {
    const up = await uploaded();
    const real = wiring().multipart;
    overrideWiring({
      multipart: multipartWith({
        async complete(...a) {
          await real.complete(...a);
          throw new Error('injected crash after CompleteMultipartUpload');
        },
      }),
    });
    expect((await s.fetch(up.complete, { method: 'POST' })).status).toBe(500);
    expect((await appDeps().sessions.get(up.uploadId))?.assembled).toBeUndefined();
    resetWiring();
    const { res } = await completeUntilDone(up);
    await expectStored(up, res);
  });

  test('C30: cut off while S3 still assembles (upload gone, no object yet) → 202 assembling, then 201; long after → 404', async () => {
    const up = await uploaded();
    // The first completion asks S3 to assemble and is cut off before S3 answers.
    overrideWiring({
      multipart: multipartWith({
        async complete() {
          throw new Error('injected: function cut off during CompleteMultipartUpload');
        },
      }),
    });
    expect((await s.fetch(up.complete, { method: 'POST' })).status).toBe(500);
    // While S3 assembles, the upload no longer lists and the object is not there yet.
    const assembling = multipartWith({ listParts: async () => undefined, head: async () => undefined });
    overrideWiring({ multipart: assembling });
    const wait = await s.fetch(up.complete, { method: 'POST' });
    expect(wait.status).toBe(202);
    expect(wait.headers.get('retry-after')).toBe('2');
    expect(await wait.json()).toMatchObject({ state: 'assembling', uploadId: up.uploadId });
    expect(await versionsOf(s.org, up.id)).toEqual([]);
    // S3 finishes: the next completion finds the parts and commits.
    resetWiring();
    const { res } = await completeUntilDone(up);
    await expectStored(up, res);

    // Gone with no object long after the last request to assemble: lost, 404.
    const lost = await uploaded();
    overrideWiring({
      multipart: multipartWith({
        async complete() {
          throw new Error('injected: cut off');
        },
      }),
    });
    await (await s.fetch(lost.complete, { method: 'POST' })).body?.cancel();
    await appDeps().sessions.mark(lost.uploadId, { assemblingSince: Math.floor(Date.now() / 1000) - 3600 });
    overrideWiring({ multipart: assembling });
    const gone = await s.fetch(lost.complete, { method: 'POST' });
    expect(gone.status).toBe(404);
  });

  test('C30: killed mid-hash → the retry resumes from the last checkpoint', async () => {
    process.env.LOCAL_FUNCTION_TIMEOUT_SECONDS = '600'; // no pause: the crash cuts it off
    const up = await uploaded();
    const reads: number[] = [];
    overrideWiring({ multipart: recordReads(reads, (start) => start === 10 * MiB) });
    expect((await s.fetch(up.complete, { method: 'POST' })).status).toBe(500);
    expect((await appDeps().sessions.get(up.uploadId))?.hashedBytes).toBe(10 * MiB);
    reads.length = 0;
    resetWiring();
    overrideWiring({ multipart: recordReads(reads) });
    const { statuses, res } = await completeUntilDone(up);
    expect(statuses).toEqual([201]);
    expect(reads).toEqual([10 * MiB]);
    await expectStored(up, res);
  });

  test('C30: killed after verification, before the commit → the retry commits once', async () => {
    process.env.LOCAL_FUNCTION_TIMEOUT_SECONDS = '600';
    const up = await uploaded();
    const repo = wiring().repo;
    overrideWiring({
      repo: Object.assign(Object.create(repo), {
        commit: async () => {
          throw new Error('injected crash before the commit');
        },
      }) as VersionRepository,
    });
    expect((await s.fetch(up.complete, { method: 'POST' })).status).toBe(500);
    expect((await appDeps().sessions.get(up.uploadId))?.verified).toBe(true);
    resetWiring();
    const reads: number[] = [];
    overrideWiring({ multipart: recordReads(reads) });
    const { statuses, res } = await completeUntilDone(up);
    expect(statuses).toEqual([201]);
    expect(reads).toEqual([]); // verified already: not hashed again
    await expectStored(up, res);
  });

  test('C30: killed after the commit, before the session recorded it → the same answer, no second version', async () => {
    process.env.LOCAL_FUNCTION_TIMEOUT_SECONDS = '600';
    const up = await uploaded();
    const sessions = wiring().sessions;
    overrideWiring({
      sessions: Object.assign(Object.create(sessions), {
        mark: async (id: string, p: Parameters<UploadSessionStore['mark']>[1]) => {
          if (p.ended === 'completed') throw new Error('injected crash after the commit');
          return sessions.mark(id, p);
        },
      }) as UploadSessionStore,
    });
    expect((await s.fetch(up.complete, { method: 'POST' })).status).toBe(500);
    resetWiring();
    const { statuses, res } = await completeUntilDone(up);
    expect(statuses).toEqual([201]);
    await expectStored(up, res);
  });
});
