import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Bundle } from 'fhir/r4';
import { headItem } from '../../functions/adapters/dynamo-schema';
import type { AppConfig } from '../../functions/config';
import type { VersionRecord } from '../../functions/core/ports';
import type { VersionQueries } from '../../functions/core/queries';
import { wiring } from '../../functions/wiring';
import { startServer, type TestServer } from '../support/server';

/**
 * C25: `_lastUpdated` is served by the sparse `currentByTenant` GSI with a key condition on the
 * range, so the store examines the matching items only — measured with DynamoDB's ScannedCount,
 * which the adapter returns as `examined`.
 */
// Built after startServer(): it gives this file its own table.
let config: AppConfig;
let queries: VersionQueries;
const N = 1000;
const t0 = Date.parse('2025-06-01T00:00:00.000Z');
const at = (i: number) => new Date(t0 + i * 1000).toISOString();

let s: TestServer;
beforeAll(async () => {
  s = await startServer('index');
  ({ appConfig: config, queries } = wiring());
  const { ddb } = wiring().clients;
  // 1,000 current Binaries, one second apart, seeded straight into the table (heads only: that
  // is all the index holds); a foreign tenant's heads share the index partition key space.
  const record = (org: string, i: number): VersionRecord => ({
    org,
    id: `r${String(i).padStart(4, '0')}`,
    vid: 1,
    lastUpdated: at(i),
    method: 'POST',
    created: true,
    deleted: false,
    resource: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain' }),
    contentType: 'text/plain',
    size: 0,
  });
  const items = [
    ...Array.from({ length: N }, (_, i) => headItem(record(s.org, i))),
    ...Array.from({ length: 50 }, (_, i) => headItem(record(`${s.org}-x`, 950 + i))),
  ];
  const batches = Array.from({ length: Math.ceil(items.length / 25) }, (_, i) =>
    items.slice(i * 25, i * 25 + 25),
  );
  for (let i = 0; i < batches.length; i += 8) {
    await Promise.all(
      batches.slice(i, i + 8).map((b) =>
        ddb.send(
          new BatchWriteCommand({
            RequestItems: { [config.tableName]: b.map((Item) => ({ PutRequest: { Item } })) },
          }),
        ),
      ),
    );
  }
});
afterAll(() => s.close());

test('C25: _lastUpdated=gt… on a 1,000-resource tenant examines only the 99 matching index items', async () => {
  const page = await queries.searchCurrent(s.org, { since: at(901) }, { order: 'asc', limit: 1000 });
  expect(page.records).toHaveLength(99);
  expect(page.records[0]!.id).toBe('r0901');
  expect(page.examined).toBe(99);
  expect(page.next).toBeUndefined();
  const count = await queries.countCurrent(s.org, { since: at(901) });
  expect(count).toEqual({ count: 99, examined: 99 });
  // For scale: the whole tenant is ten times that.
  expect((await queries.countCurrent(s.org, {})).examined).toBe(N);
});

test('C25: a page of 50 examines 51 items (one to know a next page exists), and the cursor resumes exactly', async () => {
  const p1 = await queries.searchCurrent(
    s.org,
    { since: at(100), before: at(300) },
    { order: 'asc', limit: 50 },
  );
  expect(p1.examined).toBe(51);
  expect(p1.records.map((r) => r.id)).toEqual(
    Array.from({ length: 50 }, (_, i) => `r${String(100 + i).padStart(4, '0')}`),
  );
  const p2 = await queries.searchCurrent(
    s.org,
    { since: at(100), before: at(300) },
    { after: p1.next, order: 'asc', limit: 50 },
  );
  expect(p2.records[0]!.id).toBe('r0150');
  expect(p2.examined).toBeLessThanOrEqual(52);
  const desc = await queries.searchCurrent(
    s.org,
    { before: at(300) },
    { after: p1.next, order: 'desc', limit: 3 },
  );
  expect(desc.records.map((r) => r.id)).toEqual(['r0148', 'r0147', 'r0146']);
});

test('C25/C1: through HTTP, the same search returns the 99 matches of this tenant only', async () => {
  const res = await s.fetch(`/Binary?_lastUpdated=gt${encodeURIComponent(at(900))}&_count=1000`);
  expect(res.status).toBe(200);
  const b = (await res.json()) as Bundle;
  expect(b.total).toBe(99);
  expect(b.entry!.map((e) => e.resource!.id)).toEqual(
    Array.from({ length: 99 }, (_, i) => `r${String(901 + i).padStart(4, '0')}`),
  );
  expect(b.entry!.every((e) => e.fullUrl!.startsWith(`${s.base}/Binary/`))).toBe(true);
});
