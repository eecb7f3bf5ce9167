import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { ReceivedNotification, Subscriber } from '../../clients/subscriber';
import { makeSnsClient, SnsPublisher } from '../../functions/adapters/sns-publisher';
import type { Notification, NotificationPublisher } from '../../functions/core/notification';
import { makeEmitter } from '../../functions/handlers/emitter';
import { appDeps } from '../../functions/wiring';
import { receiveUntil, startTenantEmitter, subscribeTopic } from '../support/events';
import { startServer, type TestServer } from '../support/server';

// #14 item 4 (C32): the emitter publishes up to ten resources at once with SNS PublishBatch,
// each resource's versions in order, and stops before its time runs out.
const RESOURCES = 12;
const VERSIONS = 3;

let s: TestServer;
let sub: Subscriber;
const ids: string[] = [];

beforeAll(async () => {
  s = await startServer('emit-batch');
  sub = await subscribeTopic(s.org);
  // Written before any emitter runs, so the stream is one batch; version 1 of every resource, then
  // version 2 of each, then 3: the interleaving of many clients writing at once.
  for (let r = 0; r < RESOURCES; r++) ids.push(`r${r}`);
  for (let v = 1; v <= VERSIONS; v++)
    for (const id of ids) {
      const res = await s.fetch(`/Binary/${id}`, {
        method: 'PUT',
        body: `${id} v${v}`,
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.status).toBe(v === 1 ? 201 : 200);
    }
});
afterAll(async () => {
  await sub?.close();
  await s?.close();
});

/** The SNS publisher, recording the versions of each publishAll call. */
function recording() {
  const d = appDeps();
  const real = new SnsPublisher(
    makeSnsClient(d.appConfig),
    d.clients.s3,
    d.appConfig.topicArn!,
    d.appConfig.bucketName,
  );
  const calls: string[][] = [];
  const publisher: NotificationPublisher = {
    publishAll(ns: Notification[]) {
      calls.push(ns.map((n) => `${n.attributes.resourceId}@${n.attributes.versionId}`));
      return real.publishAll(ns);
    },
  };
  return { publisher, calls };
}

const key = (n: ReceivedNotification) => `${n.attributes.resourceId}@${n.attributes.versionId}`;
const allKeys = () => ids.flatMap((id) => Array.from({ length: VERSIONS }, (_, v) => `${id}@${v + 1}`));

/** Each resource's versions in the order of their first publication. */
function firstPublications(calls: string[][]): Map<string, number[]> {
  const seen = new Set<string>();
  const order = new Map<string, number[]>();
  for (const k of calls.flat()) {
    if (seen.has(k)) continue;
    seen.add(k);
    const [id, vid] = k.split('@') as [string, string];
    order.set(id, [...(order.get(id) ?? []), Number(vid)]);
  }
  return order;
}

test('C32: 36 versions of 12 resources go out in 4 PublishBatch calls of ≤ 10, one version per resource per call, in version order', async () => {
  const { publisher, calls } = recording();
  const emitter = startTenantEmitter([s.org], {
    handler: makeEmitter({ blobs: appDeps().blobs, publisher }),
  });
  try {
    const got = await receiveUntil(sub, (all) => new Set(all.map(key)).size >= RESOURCES * VERSIONS, 60_000);
    expect(new Set(got.map(key))).toEqual(new Set(allKeys()));
  } finally {
    await emitter.stop();
  }
  for (const call of calls) {
    expect(call.length).toBeLessThanOrEqual(10);
    const resources = call.map((k) => k.split('@')[0]);
    expect(new Set(resources).size).toBe(resources.length);
  }
  // 12 resources × 3 versions: 4 PublishBatch calls, not 36 single publishes.
  expect(calls.map((c) => c.length)).toEqual([10, 10, 10, 6]);
  for (const [, vids] of firstPublications(calls)) expect(vids).toEqual([1, 2, 3]);
});

test('C32: with too little time left it stops after a batch and reports the earliest unpublished record; the retries publish the rest once, in order', async () => {
  const { publisher, calls } = recording();
  const emit = makeEmitter({ blobs: appDeps().blobs, publisher }, { reserveMs: 10_000 });
  const responses: DynamoDBBatchResponse[] = [];
  // Each invocation has time for exactly one batch: plenty at the first check, too little after.
  const handler = async (event: DynamoDBStreamEvent) => {
    let checks = 0;
    const res = await emit(event, { getRemainingTimeInMillis: () => (checks++ === 0 ? 60_000 : 5_000) });
    responses.push(res);
    return res;
  };
  const drained = await subscribeTopic(s.org);
  const emitter = startTenantEmitter([s.org], { handler });
  try {
    const got = await receiveUntil(
      drained,
      (all) => new Set(all.map(key)).size >= RESOURCES * VERSIONS,
      60_000,
    );
    expect(new Set(got.map(key))).toEqual(new Set(allKeys()));
  } finally {
    await emitter.stop();
    await drained.close();
  }
  // Each invocation published one batch and reported the rest, until nothing was left; the retry
  // started at the first record not published, so nothing was published twice.
  expect(responses.map((r) => r.batchItemFailures.length)).toEqual([1, 1, 1, 0]);
  expect(calls.map((c) => c.length)).toEqual([10, 10, 10, 6]);
  expect(calls.flat().sort()).toEqual(allKeys().sort());
  for (const [, vids] of firstPublications(calls)) expect(vids).toEqual([1, 2, 3]);
});
