import type { Bundle } from 'fhir/r4';
import { startServer, type TestServer } from '../support/server';

/** #12 item 3 (C24): `_at` means "current at some point of the period", type and instance alike; totals. */
let s: TestServer;
const at: Record<string, string> = {};

const put = async (id: string, text: string) => {
  const res = await s.fetch(`/Binary/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Binary',
      id,
      contentType: 'text/plain',
      data: Buffer.from(text).toString('base64'),
    }),
  });
  expect([200, 201]).toContain(res.status);
  return (await res.json()).meta as { versionId: string; lastUpdated: string };
};
const history = async (path: string) => {
  const res = await s.fetch(path);
  expect(res.status).toBe(200);
  return (await res.json()) as Bundle;
};
/** `id/vid` of each entry, from its response etag. */
const versions = (b: Bundle) =>
  (b.entry ?? []).map((e) => `${e.fullUrl!.split('/').pop()}/${/"(\d+)"/.exec(e.response!.etag!)![1]}`);

beforeAll(async () => {
  s = await startServer('hat');
  // a1, b1, d1, d2 (delete), a2, c1, b2 — in this order.
  at.a1 = (await put('a', 'a1')).lastUpdated;
  at.b1 = (await put('b', 'b1')).lastUpdated;
  await put('d', 'd1');
  expect((await s.fetch('/Binary/d', { method: 'DELETE' })).status).toBe(204);
  at.a2 = (await put('a', 'a2')).lastUpdated;
  at.c1 = (await put('c', 'c1')).lastUpdated;
  at.b2 = (await put('b', 'b2')).lastUpdated;
});
afterAll(() => s.close());

describe('#12.3 C24 type-level _at', () => {
  test('C24: _at=<instant> lists the versions current then, not only those written then', async () => {
    const b = await history(`/Binary/_history?_at=${at.a2}`);
    // At a2's instant: a2 itself, b1 (b2 comes later), d's delete; c did not exist yet.
    expect(versions(b).sort()).toEqual(['a/2', 'b/1', 'd/2']);
    expect(b.total).toBe(3);
    const first = await history(`/Binary/_history?_at=${at.a1}`);
    expect(versions(first)).toEqual(['a/1']);
  });

  test('C24: type-level _at agrees with instance-level _at for every Binary', async () => {
    for (const instant of [at.a1!, at.b1!, at.a2!, at.c1!, at.b2!]) {
      const typeLevel = versions(await history(`/Binary/_history?_at=${instant}`)).sort();
      const perResource: string[] = [];
      for (const id of ['a', 'b', 'c', 'd']) {
        const res = await s.fetch(`/Binary/${id}/_history?_at=${instant}`);
        // A resource created after the instant has no version in the window.
        if (res.status === 200)
          perResource.push(...versions((await res.json()) as Bundle).filter((v) => v.startsWith(`${id}/`)));
      }
      expect({ instant, typeLevel }).toEqual({ instant, typeLevel: perResource.sort() });
    }
  });

  test('C24: _at pages like any history, the next link keeps _at', async () => {
    const p1 = await history(`/Binary/_history?_at=${at.a2}&_count=2`);
    expect(p1.entry).toHaveLength(2);
    const next = p1.link!.find((l) => l.relation === 'next')!.url;
    expect(next).toContain('_at=');
    const p2 = await history(next);
    expect([...versions(p1), ...versions(p2)].sort()).toEqual(['a/2', 'b/1', 'd/2']);
  });
});

describe('#12.3 C24 totals', () => {
  test('C24: type history has total, across pages and with _since', async () => {
    expect((await history('/Binary/_history')).total).toBe(7);
    expect((await history('/Binary/_history?_count=2')).total).toBe(7);
    expect((await history('/Binary/_history?_count=0')).total).toBe(7);
    expect((await history(`/Binary/_history?_since=${at.a2}&_count=1`)).total).toBe(3);
  });

  test('C24: instance history keeps total with _since and _at', async () => {
    expect((await history(`/Binary/b/_history?_since=${at.b2}`)).total).toBe(1);
    expect((await history(`/Binary/b/_history?_since=${at.b1}&_count=1`)).total).toBe(2);
    expect((await history(`/Binary/a/_history?_at=${at.a2}`)).total).toBe(1);
    expect((await history(`/Binary/b/_history?_at=${at.c1}&_count=0`)).total).toBe(1);
  });
});
