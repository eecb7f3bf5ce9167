import { createRaw } from '../support/fhir';
import { versionsOf } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('conc');
});
afterAll(() => s.close());

const N = 20;
const put = (id: string, body: string, headers: Record<string, string> = {}) =>
  s.fetch(`/Binary/${id}`, { method: 'PUT', body, headers: { 'content-type': 'text/plain', ...headers } });

describe('C21 no lost updates', () => {
  test('C21: 20 concurrent PUTs without If-Match → 20 new consecutive versions, none lost', async () => {
    const id = await createRaw(s, 'v1', 'text/plain');
    const results = await Promise.all(Array.from({ length: N }, (_, i) => put(id, `writer-${i}`)));
    expect(results.map((r) => r.status)).toEqual(Array(N).fill(200));
    const etags = results.map((r) => Number(/W\/"(\d+)"/.exec(r.headers.get('etag')!)![1]));
    expect([...etags].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 2));
    const versions = await versionsOf(s.org, id);
    expect(versions.map((v) => v.vid)).toEqual(Array.from({ length: N + 1 }, (_, i) => i + 1));
    // Every writer's content is one of the versions: no write was silently overwritten.
    const bodies = await Promise.all(
      versions.slice(1).map(async (v) => (await s.fetch(`/Binary/${id}/_history/${v.vid}`)).text()),
    );
    expect(bodies.sort()).toEqual(Array.from({ length: N }, (_, i) => `writer-${i}`).sort());
    // lastUpdated strictly increases with the version.
    const instants = versions.map((v) => Date.parse(String(v.lastUpdated)));
    for (let i = 1; i < instants.length; i++) expect(instants[i]!).toBeGreaterThan(instants[i - 1]!);
  });

  test('C21: 20 concurrent PUTs with the same If-Match → exactly one 200, nineteen 412', async () => {
    const id = await createRaw(s, 'v1', 'text/plain');
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => put(id, `racer-${i}`, { 'if-match': 'W/"1"' })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(N - 1).fill(412)]);
    const versions = await versionsOf(s.org, id);
    expect(versions.map((v) => v.vid)).toEqual([1, 2]);
  });

  test('C10: 20 concurrent creates → 20 distinct resources', async () => {
    const ids = await Promise.all(Array.from({ length: N }, () => createRaw(s, 'same', 'text/plain')));
    expect(new Set(ids).size).toBe(N);
  });
});
