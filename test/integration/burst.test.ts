import type { ReceivedNotification, Subscriber } from '../../clients/subscriber';
import { receiveUntil, startTenantEmitter, subscribeTopic } from '../support/events';
import { createRaw } from '../support/fhir';
import { versionsOf } from '../support/inspect';
import { startServer, type TestServer } from '../support/server';

/*
 * #11 item 2 (C7, C21, C32): 50 concurrent writers — to one id and to many ids — never get a 500
 * (a 503 + Retry-After, answered when the queue outlasts the time budget, is sent again), lose no
 * version, and every committed version is notified, also when the stream poller is killed and
 * restarted in the middle of the burst (its checkpoint never skips an unpublished record), and
 * the poller keeps publishing after the burst's many failed (conflicting) transactions.
 */
const N = 50;
let s: TestServer;
let sub: Subscriber;
beforeAll(async () => {
  s = await startServer('burst');
  sub = await subscribeTopic(s.org);
});
afterAll(async () => {
  await sub.close();
  await s.close();
});

const key = (n: ReceivedNotification) => `${n.attributes.resourceId}/${n.attributes.versionId}`;
/** Every status any request of the burst saw, retries included. */
const seenStatuses: number[] = [];

/**
 * A well-behaved client: a 503 carries Retry-After and means nothing was stored (C7), so it is
 * sent again after that many seconds. Any other answer is final.
 */
async function send(path: string, init: { method: string; body: string }): Promise<Response> {
  for (;;) {
    const res = await s.fetch(path, { ...init, headers: { 'content-type': 'text/plain' } });
    seenStatuses.push(res.status);
    if (res.status !== 503) return res;
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after'))));
  }
}
const put = (id: string, body: string) => send(`/Binary/${id}`, { method: 'PUT', body });

/** Every committed version of these ids, as `id/vid`. */
async function committed(ids: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const id of ids) for (const v of await versionsOf(s.org, id)) out.add(`${id}/${v.vid}`);
  return out;
}

/** Receives until every expected `id/vid` has arrived (at least once); returns what arrived. */
async function notified(expected: Set<string>, inbox: ReceivedNotification[]) {
  const seen = () => new Set(inbox.map(key));
  const got = await receiveUntil(
    sub,
    (more) => [...expected].every((k) => seen().has(k) || more.some((n) => key(n) === k)),
    60_000,
  );
  inbox.push(...got);
  return seen();
}

describe('#11 50 concurrent writers', () => {
  const inbox: ReceivedNotification[] = [];

  test('C21/C32: 50 PUTs to one id and 50 creates → no 5xx, consecutive versions, every version notified', async () => {
    const emitter = startTenantEmitter([s.org]);
    try {
      const id = await createRaw(s, 'v1', 'text/plain');
      const [puts, creates] = await Promise.all([
        Promise.all(Array.from({ length: N }, (_, i) => put(id, `writer-${i}`))),
        Promise.all(
          Array.from({ length: N }, (_, i) => send('/Binary', { method: 'POST', body: `new-${i}` })),
        ),
      ]);
      // Never a 500; a 503 (out of time, with Retry-After) was sent again.
      expect(seenStatuses.filter((x) => x >= 500 && x !== 503)).toEqual([]);
      expect(puts.map((r) => r.status)).toEqual(Array(N).fill(200));
      expect(creates.map((r) => r.status)).toEqual(Array(N).fill(201));
      // Consecutive versions holding every writer's content (a write cut off after its commit
      // and sent again may add a duplicate: at least once, never lost).
      const versions = await versionsOf(s.org, id);
      expect(versions.map((v) => v.vid)).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
      const bodies = new Set(
        await Promise.all(
          versions.map(async (v) => (await s.fetch(`/Binary/${id}/_history/${v.vid}`)).text()),
        ),
      );
      for (let i = 0; i < N; i++) expect(bodies).toContain(`writer-${i}`);
      const ids = [
        id,
        ...creates.map((r) => /Binary\/([^/]+)\/_history/.exec(r.headers.get('location')!)![1]!),
      ];
      const expected = await committed(ids);
      expect(expected.size).toBeGreaterThanOrEqual(2 * N + 1);
      const seen = await notified(expected, inbox);
      for (const k of expected) expect(seen).toContain(k);

      // After the burst's conflicting transactions, the poller still publishes the next write.
      expect((await put(id, 'after the burst')).status).toBe(200);
      const next = `${id}/${versions.length + 1}`;
      expect(await notified(new Set([next]), inbox)).toContain(next);
    } finally {
      await emitter.stop();
    }
  });

  test('C32: the poller killed mid-burst and restarted from its checkpoint skips no committed version', async () => {
    const first = startTenantEmitter([s.org]);
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => createRaw(s, `r${i}`, 'text/plain')));
    // 50 writers spread over 10 ids, while the poller is killed after the first few notifications.
    const burst = Promise.all(Array.from({ length: N }, (_, i) => put(ids[i % ids.length]!, `w${i}`)));
    await receiveUntil(sub, (ns) => ns.length >= 5, 30_000).then((got) => inbox.push(...got));
    first.kill();
    const second = startTenantEmitter([s.org], { name: first.name });
    try {
      const statuses = (await burst).map((r) => r.status);
      expect(seenStatuses.filter((x) => x >= 500 && x !== 503)).toEqual([]);
      expect(statuses).toEqual(Array(N).fill(200));
      const expected = await committed(ids);
      expect(expected.size).toBeGreaterThanOrEqual(10 + N);
      const seen = await notified(expected, inbox);
      for (const k of expected) expect(seen).toContain(k);
    } finally {
      await second.stop();
    }
  });
});
