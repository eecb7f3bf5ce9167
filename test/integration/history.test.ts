import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Bundle, BundleEntry } from 'fhir/r4';
import { headItem, versionItem } from '../../functions/adapters/dynamo-schema';
import type { VersionRecord } from '../../functions/core/ports';
import { wiring } from '../../functions/wiring';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
let other: TestServer;
let third: TestServer;
beforeAll(async () => {
  [s, other, third] = await Promise.all([
    startServer('hist'),
    startServer('hist-other'),
    startServer('hist-type'),
  ]);
});
afterAll(() => Promise.all([s.close(), other.close(), third.close()]));

/**
 * Writes versions from..to of a resource straight into DynamoDB, each derived from `base` (the
 * version before them) as commitVersion would, then moves the head: a fast stand-in for 100+
 * sequential PUTs against moto. Versions before and after are written through HTTP.
 */
async function seedVersions(base: VersionRecord, from: number, to: number): Promise<void> {
  const { appConfig: config, clients } = wiring();
  const { ddb } = clients;
  const t0 = Date.parse(base.lastUpdated);
  const records: VersionRecord[] = [];
  for (let vid = from; vid <= to; vid++) {
    records.push({
      ...base,
      vid,
      method: 'PUT',
      created: false,
      lastUpdated: new Date(t0 + vid - base.vid).toISOString(),
    });
  }
  const items = records.map(versionItem);
  await Promise.all(
    Array.from({ length: Math.ceil(items.length / 25) }, (_, i) =>
      ddb.send(
        new BatchWriteCommand({
          RequestItems: {
            [config.tableName]: items.slice(i * 25, i * 25 + 25).map((Item) => ({ PutRequest: { Item } })),
          },
        }),
      ),
    ),
  );
  await ddb.send(
    new BatchWriteCommand({
      RequestItems: { [config.tableName]: [{ PutRequest: { Item: headItem(records.at(-1)!) } }] },
    }),
  );
}

const json = { accept: 'application/fhir+json' };
const put = (t: TestServer, id: string, text: string) =>
  t.fetch(`/Binary/${id}`, { method: 'PUT', body: text, headers: { 'content-type': 'text/plain' } });
const patch = (t: TestServer, id: string, ops: unknown) =>
  t.fetch(`/Binary/${id}`, {
    method: 'PATCH',
    body: JSON.stringify(ops),
    headers: { 'content-type': 'application/json-patch+json' },
  });
async function bundle(t: TestServer, path: string): Promise<Bundle> {
  const res = await t.fetch(path, { headers: json });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
  return (await res.json()) as Bundle;
}
const next = (b: Bundle) => b.link?.find((l) => l.relation === 'next')?.url;
const vids = (b: Bundle) => (b.entry ?? []).map((e) => Number(e.response!.etag!.replace(/\D/g, '')));

describe('C24 instance history', () => {
  const id = `many-${Date.now()}`;
  beforeAll(async () => {
    // 120 versions: PUT-create, 116 updates seeded straight into the table, then through HTTP an
    // update, a PATCH and a DELETE.
    expect((await put(s, id, 'v1')).status).toBe(201);
    expect((await put(s, id, 'v2')).status).toBe(200);
    const { repo } = wiring();
    await seedVersions((await repo.current(s.org, id))!, 3, 117);
    expect((await put(s, id, 'v118')).status).toBe(200);
    expect(
      (await patch(s, id, [{ op: 'replace', path: '/contentType', value: 'text/markdown' }])).status,
    ).toBe(200);
    expect((await s.fetch(`/Binary/${id}`, { method: 'DELETE' })).status).toBe(204);
  });

  test('C24: 120 versions page through _count=50 in 3 pages, newest first, none skipped or repeated while writes happen', async () => {
    const p1 = await bundle(s, `/Binary/${id}/_history?_count=50`);
    expect(p1.type).toBe('history');
    expect(p1.total).toBe(120);
    // A write between pages must not shift the pages that follow.
    expect((await put(s, id, 'v121 after the first page')).status).toBe(201);
    const p2 = await bundle(s, next(p1)!);
    const p3 = await bundle(s, next(p2)!);
    expect(next(p3)).toBeUndefined();
    expect([vids(p1).length, vids(p2).length, vids(p3).length]).toEqual([50, 50, 20]);
    const all = [...vids(p1), ...vids(p2), ...vids(p3)];
    expect(all).toEqual(Array.from({ length: 120 }, (_, i) => 120 - i));
    const entries = [...p1.entry!, ...p2.entry!, ...p3.entry!];
    const stamps = entries.map((e) => e.response!.lastModified!);
    expect([...stamps].sort().reverse()).toEqual(stamps);

    const [del, patched, updated] = p1.entry as [BundleEntry, BundleEntry, BundleEntry];
    expect(del).toEqual({
      fullUrl: `${s.base}/Binary/${id}`,
      request: { method: 'DELETE', url: `Binary/${id}` },
      response: { status: '204 No Content', etag: 'W/"120"', lastModified: expect.any(String) },
    });
    expect(patched.request).toEqual({ method: 'PATCH', url: `Binary/${id}` });
    expect(patched.response?.status).toBe('200 OK');
    expect(patched.resource).toMatchObject({ resourceType: 'Binary', id, contentType: 'text/markdown' });
    expect(updated.request).toEqual({ method: 'PUT', url: `Binary/${id}` });
    expect(updated.resource).toMatchObject({
      meta: { versionId: '118' },
      data: Buffer.from('v118').toString('base64'),
    });
    const first = p3.entry![19]!;
    expect(first.request).toEqual({ method: 'PUT', url: `Binary/${id}` });
    expect(first.response?.status).toBe('201 Created');
    expect(first.response?.lastModified).toBe(
      (first.resource as { meta: { lastUpdated: string } }).meta.lastUpdated,
    );
  });

  test('C24: _since is inclusive and _at gives the version current at that instant', async () => {
    const v3 = (await (await s.fetch(`/Binary/${id}/_history/3`, { headers: json })).json()).meta.lastUpdated;
    const since = await bundle(s, `/Binary/${id}/_history?_since=${encodeURIComponent(v3)}&_count=1000`);
    expect(Math.min(...vids(since))).toBe(3);
    expect(since.entry).toHaveLength(vids(since)[0]! - 2);
    const at = await bundle(s, `/Binary/${id}/_history?_at=${encodeURIComponent(v3)}`);
    expect(vids(at)).toEqual([3]);
    // A whole-year period: every version current at some point in it, so at least v1..v3.
    const year = await bundle(s, `/Binary/${id}/_history?_at=${v3.slice(0, 4)}&_count=1000`);
    expect(vids(year).slice(-3)).toEqual([3, 2, 1]);
  });
});

describe('C24 entry shapes and errors', () => {
  test('C24: POST create entry is POST Binary / 201 Created with the resource', async () => {
    const res = await s.fetch('/Binary', {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    const id = res.headers.get('location')!.split('/').at(-3)!;
    const b = await bundle(s, `/Binary/${id}/_history`);
    expect(b.total).toBe(1);
    expect(b.entry![0]).toMatchObject({
      fullUrl: `${s.base}/Binary/${id}`,
      resource: { resourceType: 'Binary', id, contentType: 'text/plain', data: 'aGVsbG8=' },
      request: { method: 'POST', url: 'Binary' },
      response: { status: '201 Created', etag: 'W/"1"' },
    });
  });

  test('C24: malformed _count, _since, _at and cursors are 400; unknown id is 404; _count is capped at 1000', async () => {
    const id = `err-${Date.now()}`;
    await put(s, id, 'x');
    for (const q of [
      '_count=-1',
      '_count=abc',
      '_since=yesterday',
      '_at=2024-13-01',
      '_cursor=%%%',
      '_cursor=YWJj',
    ]) {
      const res = await s.fetch(`/Binary/${id}/_history?${q}`);
      expect([q, res.status]).toEqual([q, 400]);
      expect((await res.json()).resourceType).toBe('OperationOutcome');
    }
    expect((await s.fetch('/Binary/_history?_count=1.5')).status).toBe(400);
    expect((await s.fetch('/Binary/never-was/_history')).status).toBe(404);
    const capped = await bundle(s, `/Binary/${id}/_history?_count=5000`);
    expect(capped.link?.[0]?.url).toContain('_count=1000');
  });
});

describe('C24 type history', () => {
  test('C24/C1: type history is newest first, pages, and never shows another tenant', async () => {
    const mine = `mine-${Date.now()}`;
    const theirs = `theirs-${Date.now()}`;
    await put(third, mine, 'a');
    await put(other, theirs, 'b');
    await put(third, mine, 'c');
    await third.fetch(`/Binary/${mine}`, { method: 'DELETE' });
    const all: BundleEntry[] = [];
    let url: string | undefined = '/Binary/_history?_count=2';
    while (url) {
      const page = await bundle(third, url);
      expect((page.entry ?? []).length).toBeLessThanOrEqual(2);
      all.push(...(page.entry ?? []));
      url = next(page);
    }
    expect(all.some((e) => e.fullUrl?.includes(theirs))).toBe(false);
    expect(all.every((e) => e.fullUrl?.startsWith(`${third.base}/Binary/`))).toBe(true);
    const stamps = all.map((e) => e.response!.lastModified!);
    expect([...stamps].sort().reverse()).toEqual(stamps);
    const keys = all.map((e) => `${e.fullUrl}|${e.response!.etag}`);
    expect(new Set(keys).size).toBe(keys.length);
    const mineEntries = all.filter((e) => e.fullUrl === `${third.base}/Binary/${mine}`);
    expect(mineEntries.map((e) => e.response!.status)).toEqual(['204 No Content', '200 OK', '201 Created']);
    expect(mineEntries[0]!.resource).toBeUndefined();

    const theirsHistory = await bundle(other, '/Binary/_history');
    expect(theirsHistory.entry!.map((e) => e.fullUrl)).toEqual([`${other.base}/Binary/${theirs}`]);
    // The other tenant's resource is not reachable through this tenant's instance history either.
    expect((await third.fetch(`/Binary/${theirs}/_history`)).status).toBe(404);
  });

  test('C24: _since on type history is inclusive', async () => {
    const id = `since-${Date.now()}`;
    await put(s, id, 'one');
    const lu = (await (await s.fetch(`/Binary/${id}`, { headers: json })).json()).meta.lastUpdated;
    const b = await bundle(s, `/Binary/_history?_since=${encodeURIComponent(lu)}`);
    expect(b.entry!.at(-1)!.fullUrl).toBe(`${s.base}/Binary/${id}`);
    expect(b.entry!.every((e) => e.response!.lastModified! >= lu)).toBe(true);
  });
});
