import type { Bundle } from 'fhir/r4';
import { createRaw, expectOutcome } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

/** #12 item 4 (C24, C25): what the server cannot honour is refused, never silently dropped. */
let s: TestServer;
let a: string;
let b: string;
beforeAll(async () => {
  s = await startServer('strict');
  a = await createRaw(s, 'a', 'text/plain');
  b = await createRaw(s, 'b', 'text/plain');
});
afterAll(() => s.close());

describe('#12.4 C25: modifiers', () => {
  test('C25: _id:not=X → 400 (it used to return X)', async () => {
    const res = await s.fetch(`/Binary?_id:not=${a}`);
    const oo = await expectOutcome(res, 400, 'not-supported');
    expect(oo.issue[0]!.diagnostics).toMatch(/:not/);
  });

  test.each(['_id:exact', '_lastUpdated:missing', '_language:text', '_id:above'])(
    'C25: %s → 400, GET and POST _search',
    async (key) => {
      await expectOutcome(await s.fetch(`/Binary?${key}=x`), 400, 'not-supported');
      const post = await s.fetch('/Binary/_search', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `${key}=x`,
      });
      await expectOutcome(post, 400, 'not-supported');
    },
  );

  test('C25: an unknown parameter stays ignored and out of the self link', async () => {
    const res = await s.fetch(`/Binary?_id=${a}&foo:bar=1`);
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as Bundle;
    expect(bundle.total).toBe(1);
    expect(bundle.link![0]!.url).not.toMatch(/foo/);
  });
});

describe('#12.4 C25/C24: single-valued parameters and _summary', () => {
  test.each(['_count=1&_count=2', '_sort=_lastUpdated&_sort=-_lastUpdated', '_summary=count&_summary=count'])(
    'C25: search with %s → 400',
    async (q) => {
      await expectOutcome(await s.fetch(`/Binary?${q}`), 400, 'invalid');
    },
  );

  test.each(['_since=2020-01-01&_since=2021-01-01', '_at=2020-01-01&_at=2021-01-01', '_count=1&_count=1'])(
    'C24: history with %s → 400',
    async (q) => {
      await expectOutcome(await s.fetch(`/Binary/_history?${q}`), 400, 'invalid');
      await expectOutcome(await s.fetch(`/Binary/${a}/_history?${q}`), 400, 'invalid');
    },
  );

  test('C25: an unknown _summary value → 400; true/text are refused as not supported', async () => {
    await expectOutcome(await s.fetch('/Binary?_summary=bogus'), 400, 'value');
    await expectOutcome(await s.fetch('/Binary?_summary=true'), 400, 'not-supported');
    await expectOutcome(await s.fetch('/Binary?_summary=text'), 400, 'not-supported');
  });

  test('C25: _summary=false and data return whole resources; count only the total', async () => {
    for (const v of ['false', 'data']) {
      const bundle = (await (await s.fetch(`/Binary?_id=${a},${b}&_summary=${v}`)).json()) as Bundle;
      expect(bundle.total).toBe(2);
      expect(bundle.entry!.every((e) => (e.resource as { data?: string }).data !== undefined)).toBe(true);
    }
    const counted = (await (await s.fetch(`/Binary?_id=${a},${b}&_summary=count`)).json()) as Bundle;
    expect(counted.total).toBe(2);
    expect(counted.entry).toBeUndefined();
  });
});
