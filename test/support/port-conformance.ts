import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { BlobStore, VersionRecord, VersionRepository } from '../../functions/core/ports';
import { VersionConflictError } from '../../functions/core/ports';
import type { VersionQueries } from '../../functions/core/queries';
import type { MultipartStore, UploadSession, UploadSessionStore } from '../../functions/core/upload-ports';

/**
 * One contract for the five ports of the core, run against every adapter set: the in-memory one
 * (test/unit/ports-memory.test.ts) and the AWS one on moto (test/integration/ports-aws.test.ts).
 * What the core relies on is written here once; an adapter that passes can stand in for another.
 */
export interface PortsUnderTest {
  repo: VersionRepository;
  blobs: BlobStore;
  queries: VersionQueries;
  multipart: MultipartStore;
  sessions: UploadSessionStore;
  /** What a client does with a presigned URL: GET returns the object, PUT uploads a part. */
  follow(
    url: string,
    init?: { method?: 'GET' | 'PUT'; body?: Uint8Array },
  ): Promise<{ bytes: Uint8Array; contentType: string } | undefined>;
}

const MiB = 1024 * 1024;
/** Digest of bytes: compares megabytes at once (jest's toEqual walks them element by element). */
const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const T = (s: number) => new Date(Date.UTC(2020, 0, 1, 0, 0, s)).toISOString();

const record = (
  org: string,
  id: string,
  vid: number,
  lastUpdated: string,
  extra: Partial<VersionRecord> = {},
) =>
  ({
    org,
    id,
    vid,
    lastUpdated,
    method: vid === 1 ? 'POST' : 'PUT',
    created: vid === 1,
    deleted: false,
    resource: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain' }),
    contentType: 'text/plain',
    size: 0,
    ...extra,
  }) satisfies VersionRecord;

const ids = (p: { records: VersionRecord[] }) => p.records.map((r) => `${r.id}/${r.vid}`);

/** Walks every page of a query with `limit` per page; returns the records in order. */
async function walk(
  page: (after: string | undefined) => Promise<{ records: VersionRecord[]; next?: string }>,
): Promise<string[]> {
  const out: string[] = [];
  let after: string | undefined;
  for (let i = 0; i < 50; i++) {
    const p = await page(after);
    out.push(...ids(p));
    if (p.next === undefined) return out;
    after = p.next;
  }
  throw new Error('paging did not end');
}

export function describePortConformance(label: string, setup: () => Promise<PortsUnderTest>): void {
  describe(`port conformance: ${label}`, () => {
    let p: PortsUnderTest;
    // A tenant of its own per run: the AWS adapters share moto with other test files.
    const org = `conf-${randomUUID().slice(0, 8)}`;
    beforeAll(async () => {
      p = await setup();
    });

    describe('VersionRepository', () => {
      test('a create commits on expected version 0 once; a second create conflicts', async () => {
        expect(await p.repo.current(org, 'r1')).toBeUndefined();
        await p.repo.commit(record(org, 'r1', 1, T(1)), { expectedVid: 0 });
        await expect(p.repo.commit(record(org, 'r1', 1, T(2)), { expectedVid: 0 })).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        expect(await p.repo.current(org, 'r1')).toEqual(record(org, 'r1', 1, T(1)));
      });

      test('the head moves only from the expected version; every version stays readable', async () => {
        await p.repo.commit(record(org, 'r1', 2, T(3)), { expectedVid: 1 });
        await expect(p.repo.commit(record(org, 'r1', 3, T(4)), { expectedVid: 1 })).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        expect((await p.repo.current(org, 'r1'))?.vid).toBe(2);
        expect((await p.repo.version(org, 'r1', 1))?.lastUpdated).toBe(T(1));
        expect(await p.repo.version(org, 'r1', 3)).toBeUndefined();
      });

      test('a commit adopts its intent once; without the intent nothing of the commit happens', async () => {
        const blobKey = `${org}/Binary/r2/${randomUUID()}`;
        await p.repo.putIntent({ blobKey, org, id: 'r2', expiresAt: 2_000_000_000 });
        await p.repo.commit(record(org, 'r2', 1, T(5), { blobKey, size: 3 }), {
          expectedVid: 0,
          intentKey: blobKey,
        });
        expect(await p.repo.isCommitted(org, 'r2', blobKey)).toBe(true);
        expect(await p.repo.isCommitted(org, 'r2', `${blobKey}-other`)).toBe(false);
        await expect(
          p.repo.commit(record(org, 'r2', 2, T(6), { blobKey }), { expectedVid: 1, intentKey: blobKey }),
        ).rejects.toBeInstanceOf(VersionConflictError);
        expect((await p.repo.current(org, 'r2'))?.vid).toBe(1);
        expect(await p.repo.version(org, 'r2', 2)).toBeUndefined();
      });

      test('#14.8: expiring an intent a commit consumed re-creates nothing; expiring a missing one is a no-op', async () => {
        const blobKey = `${org}/Binary/r3/${randomUUID()}`;
        await p.repo.expireIntent(`${blobKey}-never`, 1_700_000_000);
        await p.repo.putIntent({ blobKey, org, id: 'r3', expiresAt: 2_000_000_000 });
        await p.repo.commit(record(org, 'r3', 1, T(7), { blobKey }), { expectedVid: 0, intentKey: blobKey });
        await p.repo.expireIntent(blobKey, 1_700_000_000);
        // The intent stays consumed: a second commit that would adopt it fails.
        await expect(
          p.repo.commit(record(org, 'r3', 2, T(8), { blobKey }), { expectedVid: 1, intentKey: blobKey }),
        ).rejects.toBeInstanceOf(VersionConflictError);
        expect((await p.repo.current(org, 'r3'))?.vid).toBe(1);
      });

      test('what a caller does to a record it passed or got changes nothing stored', async () => {
        const r = record(org, 'r4', 1, T(8));
        await p.repo.commit(r, { expectedVid: 0 });
        r.contentType = 'x/changed';
        const got = (await p.repo.current(org, 'r4'))!;
        got.size = 99;
        expect(await p.repo.current(org, 'r4')).toEqual(record(org, 'r4', 1, T(8)));
      });
    });

    describe('VersionQueries', () => {
      const q = () => `${org}-q`;
      beforeAll(async () => {
        const o = q();
        await p.repo.commit(record(o, 'a', 1, T(10)), { expectedVid: 0 });
        await p.repo.commit(record(o, 'b', 1, T(11), { language: 'en' }), { expectedVid: 0 });
        await p.repo.commit(record(o, 'a', 2, T(12)), { expectedVid: 1 });
        await p.repo.commit(record(o, 'c', 1, T(13)), { expectedVid: 0 });
        await p.repo.commit(
          record(o, 'c', 2, T(14), { deleted: true, method: 'DELETE', resource: undefined }),
          {
            expectedVid: 1,
          },
        );
        await p.repo.commit(record(`${o}-other`, 'a', 1, T(10)), { expectedVid: 0 });
      });

      test('resource history: newest first, paged, `before` leaves out newer versions', async () => {
        expect(ids(await p.queries.resourceHistory(q(), 'a', { limit: 10 }))).toEqual(['a/2', 'a/1']);
        const first = await p.queries.resourceHistory(q(), 'a', { limit: 1 });
        expect(ids(first)).toEqual(['a/2']);
        expect(first.next).toBeDefined();
        const second = await p.queries.resourceHistory(q(), 'a', { limit: 1, after: first.next });
        expect(ids(second)).toEqual(['a/1']);
        expect(second.next).toBeUndefined();
        expect(ids(await p.queries.resourceHistory(q(), 'a', { limit: 10, before: T(12) }))).toEqual(['a/1']);
        expect(ids(await p.queries.resourceHistory(q(), 'nope', { limit: 10 }))).toEqual([]);
      });

      test("tenant history: every version of the tenant's Binaries by lastUpdated, both ways, paged", async () => {
        const all = ['a/1', 'b/1', 'a/2', 'c/1', 'c/2'];
        expect(ids(await p.queries.tenantHistory(q(), { order: 'asc', limit: 10 }))).toEqual(all);
        expect(ids(await p.queries.tenantHistory(q(), { order: 'desc', limit: 10 }))).toEqual(
          [...all].reverse(),
        );
        for (const order of ['asc', 'desc'] as const) {
          const paged = await walk((after) => p.queries.tenantHistory(q(), { order, limit: 2, after }));
          expect(paged).toEqual(order === 'asc' ? all : [...all].reverse());
        }
        const window = await p.queries.tenantHistory(q(), {
          order: 'asc',
          limit: 10,
          since: T(11),
          before: T(13),
        });
        expect(ids(window)).toEqual(['b/1', 'a/2']);
      });

      test('tenant history `currentAt`: older versions only while current then; count of a window', async () => {
        // At T(12): a/2 was written then; b/1 still current; a/1 superseded by a/2 at T(12).
        const at12 = await p.queries.tenantHistory(q(), { order: 'desc', limit: 10, currentAt: T(12) });
        expect(ids(at12)).toEqual(['c/2', 'c/1', 'a/2', 'b/1']);
        const window = await p.queries.tenantHistory(q(), {
          order: 'desc',
          limit: 10,
          before: T(13),
          currentAt: T(12),
        });
        expect(ids(window)).toEqual(['a/2', 'b/1']);
        const paged = await walk((after) =>
          p.queries.tenantHistory(q(), { order: 'desc', limit: 1, after, before: T(13), currentAt: T(12) }),
        );
        expect(paged).toEqual(['a/2', 'b/1']);
        expect(await p.queries.countTenantHistory(q(), {})).toBe(5);
        expect(await p.queries.countTenantHistory(q(), { since: T(11), before: T(13) })).toBe(2);
      });

      test('search: current Binaries that meet the criteria, deleted ones never, paged alike', async () => {
        const all = await p.queries.searchCurrent(q(), {}, { order: 'asc', limit: 10 });
        expect(ids(all)).toEqual(['b/1', 'a/2']);
        expect(ids(await p.queries.searchCurrent(q(), {}, { order: 'desc', limit: 10 }))).toEqual([
          'a/2',
          'b/1',
        ]);
        expect(
          ids(await p.queries.searchCurrent(q(), { languages: ['en'] }, { order: 'asc', limit: 10 })),
        ).toEqual(['b/1']);
        expect(
          ids(await p.queries.searchCurrent(q(), { since: T(12) }, { order: 'asc', limit: 10 })),
        ).toEqual(['a/2']);
        const byIds = { ids: ['a', 'c', 'zz'] };
        expect(ids(await p.queries.searchCurrent(q(), byIds, { order: 'asc', limit: 10 }))).toEqual(['a/2']);
        for (const criteria of [{}, { ids: ['a', 'b', 'c'] }]) {
          const paged = await walk((after) =>
            p.queries.searchCurrent(q(), criteria, { order: 'asc', limit: 1, after }),
          );
          expect(paged).toEqual(['b/1', 'a/2']);
          expect((await p.queries.countCurrent(q(), criteria)).count).toBe(2);
        }
        expect((await p.queries.countCurrent(q(), { languages: ['de'] })).count).toBe(0);
      });
    });

    describe('BlobStore', () => {
      test('put, get (whole and ranges), delete; a missing key rejects', async () => {
        const key = `${org}/Binary/b1/${randomUUID()}`;
        const bytes = randomBytes(1000);
        await p.blobs.put(key, bytes, { contentType: 'application/octet-stream' });
        expect(digest(await p.blobs.get(key))).toBe(digest(bytes));
        expect(digest(await p.blobs.get(key, { start: 10, end: 19 }))).toBe(digest(bytes.subarray(10, 20)));
        await p.blobs.delete(key);
        await expect(p.blobs.get(key)).rejects.toThrow();
      });

      test('copy stores the same bytes under the new key with the new type; presigned GETs serve each', async () => {
        const from = `${org}/Binary/b2/${randomUUID()}`;
        const to = `${org}/Binary/b2/${randomUUID()}`;
        const bytes = randomBytes(2000);
        await p.blobs.put(from, bytes, { contentType: 'text/plain' });
        await p.blobs.copy(from, to, bytes.length, { contentType: 'application/pdf' });
        const got = await p.follow(await p.blobs.presignGet(to, 60));
        expect(digest(got!.bytes)).toBe(digest(bytes));
        expect(got!.contentType).toBe('application/pdf');
        expect((await p.follow(await p.blobs.presignGet(from, 60)))!.contentType).toBe('text/plain');
      });
    });

    describe('MultipartStore', () => {
      test('parts PUT to presigned URLs assemble into one object the blob store reads', async () => {
        const key = `${org}/Binary/m1/${randomUUID()}`;
        const uploadId = await p.multipart.create(key, { contentType: 'application/zip' });
        const one = randomBytes(5 * MiB);
        const two = randomBytes(1234);
        // Out of order, as parallel clients do.
        await p.follow(await p.multipart.presignPart(key, uploadId, 2, 60), { method: 'PUT', body: two });
        await p.follow(await p.multipart.presignPart(key, uploadId, 1, 60), { method: 'PUT', body: one });
        const parts = (await p.multipart.listParts(key, uploadId))!;
        expect(parts.map((x) => [x.partNumber, x.size])).toEqual([
          [1, one.length],
          [2, two.length],
        ]);
        await p.multipart.complete(key, uploadId, parts);
        expect(await p.multipart.head(key)).toEqual({ size: one.length + two.length });
        const all = Buffer.concat([one, two]);
        const chunks: Uint8Array[] = [];
        for await (const c of p.multipart.stream(key, { start: 5 * MiB - 10, end: 5 * MiB + 9 }))
          chunks.push(c);
        expect(digest(Buffer.concat(chunks))).toBe(digest(all.subarray(5 * MiB - 10, 5 * MiB + 10)));
        expect(digest(await p.blobs.get(key))).toBe(digest(all));
        expect((await p.follow(await p.blobs.presignGet(key, 60)))!.contentType).toBe('application/zip');
        // A completed upload is gone as an upload.
        expect(await p.multipart.listParts(key, uploadId)).toBeUndefined();
      });

      test('a part under 5 MiB that is not the last one fails the completion', async () => {
        const key = `${org}/Binary/m2/${randomUUID()}`;
        const uploadId = await p.multipart.create(key, { contentType: 'text/plain' });
        for (const n of [1, 2])
          await p.follow(await p.multipart.presignPart(key, uploadId, n, 60), {
            method: 'PUT',
            body: randomBytes(100),
          });
        const parts = (await p.multipart.listParts(key, uploadId))!;
        await expect(p.multipart.complete(key, uploadId, parts)).rejects.toThrow();
        expect(await p.multipart.head(key)).toBeUndefined();
        await p.multipart.abort(key, uploadId);
      });

      test('abort drops the upload, twice without error; head of a missing object is undefined', async () => {
        const key = `${org}/Binary/m3/${randomUUID()}`;
        const uploadId = await p.multipart.create(key, { contentType: 'text/plain' });
        expect(await p.multipart.listParts(key, uploadId)).toEqual([]);
        await p.multipart.abort(key, uploadId);
        await p.multipart.abort(key, uploadId);
        expect(await p.multipart.listParts(key, uploadId)).toBeUndefined();
        expect(await p.multipart.head(key)).toBeUndefined();
      });
    });

    describe('UploadSessionStore', () => {
      const session = (): UploadSession => ({
        uploadId: randomUUID(),
        org,
        id: 's1',
        mode: 'create',
        blobKey: `${org}/Binary/s1/${randomUUID()}`,
        storeUploadId: 'store-upload',
        contentType: 'text/plain',
        size: 10,
        sha256: 'x'.repeat(44),
        partSize: 5 * MiB,
        partCount: 1,
        expiresAt: 2_000_000_000,
      });

      test('put once, get it back as put, mark progress, delete', async () => {
        const s = session();
        await p.sessions.put(s);
        expect(await p.sessions.get(s.uploadId)).toEqual(s);
        await expect(p.sessions.put(s)).rejects.toThrow();
        await p.sessions.mark(s.uploadId, { assembled: true });
        await p.sessions.mark(s.uploadId, { verified: true });
        expect(await p.sessions.get(s.uploadId)).toEqual({ ...s, assembled: true, verified: true });
        await p.sessions.delete(s.uploadId);
        expect(await p.sessions.get(s.uploadId)).toBeUndefined();
      });

      test('marking a session that does not exist rejects (a completion never resurrects one)', async () => {
        await expect(p.sessions.mark(randomUUID(), { assembled: true })).rejects.toThrow();
      });
    });
  });
}
