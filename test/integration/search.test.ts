import type { Bundle } from 'fhir/r4';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
let other: TestServer;
beforeAll(async () => {
  [s, other] = await Promise.all([startServer('search'), startServer('search-other')]);
});
afterAll(() => Promise.all([s.close(), other.close()]));

const put = (t: TestServer, id: string, body: unknown) =>
  t.fetch(`/Binary/${id}`, {
    method: 'PUT',
    body: JSON.stringify({ resourceType: 'Binary', id, ...(body as object) }),
    headers: { 'content-type': 'application/fhir+json' },
  });
async function search(t: TestServer, query: string, init: RequestInit = {}): Promise<Bundle> {
  const res = await t.fetch(`/Binary${query}`, init as never);
  expect(res.status).toBe(200);
  return (await res.json()) as Bundle;
}
const ids = (b: Bundle) => (b.entry ?? []).map((e) => e.resource!.id!);
const next = (b: Bundle) => b.link?.find((l) => l.relation === 'next')?.url;
const self = (b: Bundle) => b.link?.find((l) => l.relation === 'self')?.url;

/** Five Binaries a…e in lastUpdated order, c deleted, d in German, plus one in the other tenant. */
const stamp: Record<string, string> = {};
beforeAll(async () => {
  for (const id of ['a', 'b', 'c', 'd', 'e']) {
    const res = await put(s, id, {
      contentType: 'text/plain',
      data: Buffer.from(`doc ${id}`).toString('base64'),
      ...(id === 'd' ? { language: 'de' } : { language: 'en' }),
    });
    expect(res.status).toBe(201);
    stamp[id] = (await res.json()).meta.lastUpdated;
  }
  expect((await s.fetch('/Binary/c', { method: 'DELETE' })).status).toBe(204);
  expect((await put(other, 'a', { contentType: 'text/plain' })).status).toBe(201);
});

describe('C25 search', () => {
  test('C25/C1: an unfiltered search lists the current Binaries of this tenant only, deleted never match', async () => {
    const b = await search(s, '');
    expect(b).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 4 });
    expect(ids(b)).toEqual(['a', 'b', 'd', 'e']);
    expect(b.entry![0]).toMatchObject({
      fullUrl: `${s.base}/Binary/a`,
      search: { mode: 'match' },
      resource: { data: Buffer.from('doc a').toString('base64'), meta: { versionId: '1' } },
    });
    expect(ids(await search(other, ''))).toEqual(['a']);
  });

  test('C25: _id takes a comma list and never returns deleted or foreign ids', async () => {
    const b = await search(s, '?_id=e,c,a,zz');
    expect(ids(b)).toEqual(['a', 'e']);
    expect(b.total).toBe(2);
    expect(ids(await search(other, '?_id=b,e'))).toEqual([]);
  });

  test('C25: _lastUpdated prefixes select ranges; repeated values AND together', async () => {
    const q = (v: string) => `_lastUpdated=${encodeURIComponent(v)}`;
    expect(ids(await search(s, `?${q(`gt${stamp.b}`)}`))).toEqual(['d', 'e']);
    expect(ids(await search(s, `?${q(`ge${stamp.b}`)}`))).toEqual(['b', 'd', 'e']);
    expect(ids(await search(s, `?${q(`lt${stamp.b}`)}`))).toEqual(['a']);
    expect(ids(await search(s, `?${q(`le${stamp.b}`)}`))).toEqual(['a', 'b']);
    expect(ids(await search(s, `?${q(stamp.b!)}`))).toEqual(['b']);
    expect(ids(await search(s, `?${q(`eq${stamp.b}`)}`))).toEqual(['b']);
    expect(ids(await search(s, `?${q(`ne${stamp.b}`)}`))).toEqual(['a', 'd', 'e']);
    expect(ids(await search(s, `?${q(`sa${stamp.a}`)}&${q(`eb${stamp.e}`)}`))).toEqual(['b', 'd']);
    expect(ids(await search(s, `?${q(`ge${stamp.a}`)}&${q(`lt${stamp.a}`)}`))).toEqual([]);
    // Day precision: everything written today (UTC) is inside eq<today>.
    expect(ids(await search(s, `?${q(stamp.a!.slice(0, 10))}&_id=a`))).toEqual(['a']);
    expect(ids(await search(s, `?${q(`gt${stamp.a}`)}&_id=a,b`))).toEqual(['b']);
  });

  test('C25: _language, _sort, _summary=count and paging with self/next links', async () => {
    expect(ids(await search(s, '?_language=de'))).toEqual(['d']);
    expect(ids(await search(s, '?_language=en,fr&_sort=-_lastUpdated'))).toEqual(['e', 'b', 'a']);
    const count = await search(s, '?_summary=count');
    expect(count.total).toBe(4);
    expect(count.entry).toBeUndefined();
    const p1 = await search(s, '?_count=3&_sort=-_lastUpdated');
    expect(ids(p1)).toEqual(['e', 'd', 'b']);
    expect(p1.total).toBe(4);
    expect(self(p1)).toBe(`${s.base}/Binary?_sort=-_lastUpdated&_count=3`);
    const p2 = (await (await s.fetch(next(p1)!)).json()) as Bundle;
    expect(ids(p2)).toEqual(['a']);
    expect(next(p2)).toBeUndefined();
  });

  test('C25: _id searches page with cursors and count like index searches', async () => {
    const p1 = await search(s, '?_id=a,b,c,d,e&_count=2&_sort=-_lastUpdated');
    expect(ids(p1)).toEqual(['e', 'd']);
    expect(p1.total).toBe(4);
    const p2 = (await (await s.fetch(next(p1)!)).json()) as Bundle;
    expect(ids(p2)).toEqual(['b', 'a']);
    expect(p2.total).toBe(4);
    expect(next(p2)).toBeUndefined();
    const counted = await search(s, '?_id=a,c,d&_summary=count');
    expect(counted.total).toBe(2);
    expect(counted.entry).toBeUndefined();
    expect((await search(s, '?_id=a,b&_language=de')).total).toBe(0);
  });

  test('C25: POST _search with a form body equals GET', async () => {
    const body = new URLSearchParams({ _id: 'a,b,d', _language: 'en' }).toString();
    const b = await search(s, '/_search', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(ids(b)).toEqual(['a', 'b']);
    expect(self(b)).toContain('_id=a%2Cb%2Cd');
    const bad = await s.fetch('/Binary/_search', {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(415);
  });

  test('C25: unknown parameters are ignored, or 400 with Prefer: handling=strict; bad values are 400', async () => {
    const lenient = await search(s, '?_id=a&color=blue');
    expect(ids(lenient)).toEqual(['a']);
    expect(self(lenient)).not.toContain('color');
    const strict = await s.fetch('/Binary?_id=a&color=blue', { headers: { prefer: 'handling=strict' } });
    expect(strict.status).toBe(400);
    expect((await strict.json()).issue[0].diagnostics).toContain('color');
    for (const q of ['_lastUpdated=xx2024', '_lastUpdated=gt2024-02-30', '_count=many', '_cursor=!!']) {
      expect([q, (await s.fetch(`/Binary?${q}`)).status]).toEqual([q, 400]);
    }
  });
});
