import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Binary } from 'fhir/r4';
import type { ReceivedNotification, Subscriber } from '../../clients/subscriber';
import { makeSnsClient, SnsPublisher } from '../../functions/adapters/sns-publisher';
import { DATA_ABSENT } from '../../functions/core/binary';
import type { Notification, NotificationPublisher, PublishOutcome } from '../../functions/core/notification';
import type { BlobStore } from '../../functions/core/ports';
import { commitVersion, stageBytes } from '../../functions/core/write';
import { makeEmitter } from '../../functions/handlers/emitter';
import { appDeps } from '../../functions/wiring';
import { receiveUntil, startTenantEmitter, subscribeTopic } from '../support/events';
import { startServer, type TestServer } from '../support/server';

const MiB = 1024 * 1024;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const vids = (ns: ReceivedNotification[]) =>
  ns.map((n) => Number(n.attributes.versionId)).sort((a, b) => a - b);

/** The real S3 blob store, counting the reads of each key (C33: no read of an omitted version). */
function countingBlobs(inner: BlobStore) {
  const reads = new Map<string, number>();
  const blobs: Pick<BlobStore, 'get'> = {
    get: (key, range) => {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      return inner.get(key, range);
    },
  };
  return { blobs, reads };
}

function snsPublisher(): SnsPublisher {
  const d = appDeps();
  return new SnsPublisher(
    makeSnsClient(d.appConfig),
    d.clients.s3,
    d.appConfig.topicArn!,
    d.appConfig.bucketName,
  );
}

async function createRaw(s: TestServer, body: Uint8Array, contentType = 'application/octet-stream') {
  const res = await s.fetch('/Binary', { method: 'POST', body, headers: { 'content-type': contentType } });
  expect(res.status).toBe(201);
  return /\/Binary\/([^/]+)\/_history\/1$/.exec(res.headers.get('location')!)![1]!;
}

/** A version written the way `$upload` completion writes it: bytes staged, then committed. */
async function stageAndCommit(org: string, id: string, bytes: Uint8Array): Promise<string | undefined> {
  const d = appDeps();
  const staged = await stageBytes(d, org, id, bytes, 'application/octet-stream');
  const rec = await commitVersion(d, {
    org,
    id,
    method: 'POST',
    content: () => ({
      resource: { resourceType: 'Binary', contentType: 'application/octet-stream' },
      ...staged,
    }),
  });
  expect(rec!.size).toBe(bytes.length);
  return staged.blobKey;
}

const forId = (id: string) => (ns: ReceivedNotification[]) =>
  ns.filter((n) => n.attributes.resourceId === id);

describe('C32–C34 notifications through the stream', () => {
  let s: TestServer;
  let sub: Subscriber;
  let emitter: ReturnType<typeof startTenantEmitter>;
  let counting: ReturnType<typeof countingBlobs>;
  /** Notifications received so far, across tests (one queue for this tenant). */
  const inbox: ReceivedNotification[] = [];
  const waitFor = async (pred: (n: ReceivedNotification[]) => boolean, timeoutMs?: number) => {
    const got = await receiveUntil(sub, (more) => pred([...inbox, ...more]), timeoutMs);
    inbox.push(...got);
    return inbox;
  };

  beforeAll(async () => {
    s = await startServer('events'); // first: it points this file at its own table
    counting = countingBlobs(appDeps().blobs);
    sub = await subscribeTopic(s.org);
    emitter = startTenantEmitter([s.org], {
      handler: makeEmitter({ blobs: counting.blobs, publisher: snsPublisher() }),
    });
  });
  afterAll(async () => {
    await emitter?.stop();
    await sub?.close();
    await s?.close();
  });

  test('C32: create, update, delete → one notification each with the C32 attributes; 1 KiB body inline', async () => {
    const kib = new Uint8Array(1024).map((_, i) => i % 251);
    const id = await createRaw(s, kib, 'application/pdf');
    const put = await s.fetch(`/Binary/${id}`, {
      method: 'PUT',
      body: JSON.stringify({ resourceType: 'Binary', id, contentType: 'text/plain', data: 'aGk=' }),
      headers: { 'content-type': 'application/fhir+json' },
    });
    expect(put.status).toBe(200);
    const del = await s.fetch(`/Binary/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);

    const got = forId(id)(await waitFor((all) => forId(id)(all).length >= 3));
    expect(vids(got)).toEqual([1, 2, 3]);
    const [create, update, remove] = [1, 2, 3].map(
      (v) => got.find((n) => n.attributes.versionId === String(v))!,
    );

    const v1 = (await (
      await s.fetch(`/Binary/${id}/_history/1`, { headers: { accept: 'application/fhir+json' } })
    ).json()) as Binary;
    expect(create!.attributes).toEqual({
      action: 'CreateResource',
      resourceType: 'Binary',
      organizationId: s.org,
      resourceId: id,
      versionId: '1',
      lastUpdatedTime: v1.meta!.lastUpdated,
      payloadType: 'FullResource',
    });
    // Inline: the SQS body is the Binary itself, no pointer, no ExtendedPayloadSize.
    expect(JSON.parse(create!.raw)).toEqual(v1);
    expect(create!.body).toEqual(v1);
    expect(sha(Buffer.from((create!.body as Binary).data!, 'base64'))).toBe(sha(kib));

    expect(update!.attributes.action).toBe('UpdateResource');
    expect(update!.attributes.payloadType).toBe('FullResource');
    expect(update!.body).toMatchObject({
      id,
      contentType: 'text/plain',
      data: 'aGk=',
      meta: { versionId: '2' },
    });

    expect(remove!.attributes).toMatchObject({
      action: 'DeleteResource',
      payloadType: 'NameOnly',
      versionId: '3',
      organizationId: s.org,
    });
    expect(remove!.body).toBe(`Binary/${id}`);
    expect(remove!.raw).toBe(`Binary/${id}`);
    expect(got.every((n) => n.attributes.ExtendedPayloadSize === undefined)).toBe(true);
  });

  test('C33/C34: exactly 10 MiB → data present, body offloaded to S3 under _events/ with the extended-client pointer', async () => {
    const bytes = new Uint8Array(10 * MiB);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i / 4096) % 256;
    // Over what a direct write carries (C13): written the way $upload completion does.
    const id = `ten-${Date.now()}`;
    await stageAndCommit(s.org, id, bytes);
    const [n] = forId(id)(await waitFor((all) => forId(id)(all).length >= 1, 60_000));
    expect(n).toBeDefined();
    const pointer = JSON.parse(n!.raw);
    expect(pointer).toEqual([
      'software.amazon.payloadoffloading.PayloadS3Pointer',
      { s3BucketName: process.env.BUCKET_NAME, s3Key: `_events/${s.org}/${id}/1.json` },
    ]);
    // A plain GetObject of the pointer gives the body whose size the attribute announces.
    const obj = await appDeps().clients.s3.send(
      new GetObjectCommand({ Bucket: pointer[1].s3BucketName, Key: pointer[1].s3Key }),
    );
    const text = await obj.Body!.transformToString('utf-8');
    expect(n!.attributes.ExtendedPayloadSize).toBe(String(Buffer.byteLength(text)));
    expect(n!.attributes).toMatchObject({
      action: 'CreateResource',
      payloadType: 'FullResource',
      versionId: '1',
    });
    const body = n!.body as Binary;
    expect(body._data).toBeUndefined();
    expect(sha(Buffer.from(body.data!, 'base64'))).toBe(sha(bytes));
  }, 90_000);

  test('C33: 10 MiB + 1 → data absent with the C31 extension, and the bytes of that version are never read', async () => {
    const id = `big-${Date.now()}`;
    const bytes = new Uint8Array(10 * MiB + 1).fill(1);
    // Over API Gateway's 10 MiB: written the way $upload completion does, staged then committed.
    const blobKey = await stageAndCommit(s.org, id, bytes);
    const [n] = forId(id)(await waitFor((all) => forId(id)(all).length >= 1));
    expect(n).toBeDefined();
    const body = n!.body as Binary;
    expect(body.data).toBeUndefined();
    expect(body._data).toEqual(DATA_ABSENT);
    expect(body).toMatchObject({ id, contentType: 'application/octet-stream', meta: { versionId: '1' } });
    expect(n!.attributes.ExtendedPayloadSize).toBeUndefined(); // small without data: inline
    expect(counting.reads.get(blobKey!) ?? 0).toBe(0);
  }, 60_000);

  test('C34: a body just over 256 KiB is offloaded; one that fits is not', async () => {
    // 150,000 bytes → 200,000 base64 chars (fits in 262,144); 200,000 → 266,668 (does not).
    const small = await createRaw(s, new Uint8Array(150_000).fill(2));
    const large = await createRaw(s, new Uint8Array(200_000).fill(3));
    const all = await waitFor((a) => forId(small)(a).length >= 1 && forId(large)(a).length >= 1);
    const [ns] = forId(small)(all);
    const [nl] = forId(large)(all);
    expect(ns!.attributes.ExtendedPayloadSize).toBeUndefined();
    expect(JSON.parse(ns!.raw).id).toBe(small);
    expect(nl!.attributes.ExtendedPayloadSize).toBeDefined();
    expect(Number(nl!.attributes.ExtendedPayloadSize)).toBeGreaterThan(262_144);
    expect(JSON.parse(nl!.raw)[1].s3Key).toBe(`_events/${s.org}/${large}/1.json`);
    expect((nl!.body as Binary).data!.length).toBe(Math.ceil(200_000 / 3) * 4);
  });
});

describe('C32 tenants: an SNS filter policy on organizationId routes per tenant', () => {
  test('C1/C32: each subscription with a filter policy gets its own tenant only', async () => {
    const a = await startServer('events-a');
    const b = await startServer('events-b');
    const subA = await subscribeTopic(a.org);
    const subB = await subscribeTopic(b.org);
    const emitter = startTenantEmitter([a.org, b.org]);
    try {
      const idA = await createRaw(a, Buffer.from('for a'), 'text/plain');
      const idB = await createRaw(b, Buffer.from('for b'), 'text/plain');
      const gotA = await receiveUntil(subA, (ns) => ns.length >= 1);
      const gotB = await receiveUntil(subB, (ns) => ns.length >= 1);
      // Anything else would have arrived by now: the other tenant's was published meanwhile.
      gotA.push(...(await subA.receive(1)));
      gotB.push(...(await subB.receive(1)));
      expect(gotA.map((n) => [n.attributes.organizationId, n.attributes.resourceId])).toEqual([[a.org, idA]]);
      expect(gotB.map((n) => [n.attributes.organizationId, n.attributes.resourceId])).toEqual([[b.org, idB]]);
    } finally {
      await emitter.stop();
      await Promise.all([subA.close(), subB.close(), a.close(), b.close()]);
    }
  });
});

describe('C32 failures: killing the emitter mid-batch loses no notification', () => {
  /** Publishes the first `n` notifications, then calls `after()` for every further one. */
  function publishThen(
    n: number,
    after: (x: Notification) => Promise<void>,
  ): NotificationPublisher & { count: number } {
    const real = snsPublisher();
    const p = {
      count: 0,
      async publishAll(xs: Notification[]): Promise<PublishOutcome[]> {
        const out: PublishOutcome[] = [];
        for (const x of xs) {
          p.count++;
          if (p.count <= n) out.push(...(await real.publishAll([x])));
          else out.push(await after(x).then(() => ({ ok: true }) as const));
        }
        return out;
      },
    };
    return p;
  }

  async function fiveVersions(s: TestServer): Promise<string> {
    const id = await createRaw(s, Buffer.from('v1'), 'text/plain');
    for (let v = 2; v <= 5; v++) {
      const res = await s.fetch(`/Binary/${id}`, {
        method: 'PUT',
        body: `v${v}`,
        headers: { 'content-type': 'text/plain' },
      });
      expect(res.status).toBe(200);
    }
    return id;
  }

  test('C32: publisher fails after 2 of 5 → failed record reported, restart publishes the rest exactly once', async () => {
    const s = await startServer('events-fail');
    const sub = await subscribeTopic(s.org);
    try {
      const id = await fiveVersions(s); // all on the stream before any emitter runs: one batch
      let failed!: () => void;
      const firstFailure = new Promise<void>((r) => {
        failed = r;
      });
      const broken = publishThen(2, async () => {
        failed();
        throw new Error('SNS unavailable');
      });
      const first = startTenantEmitter([s.org], {
        handler: makeEmitter({ blobs: appDeps().blobs, publisher: broken }),
      });
      await firstFailure;
      await first.stop();
      const before = await receiveUntil(sub, (ns) => ns.length >= 2);
      expect(vids(before)).toEqual([1, 2]);

      const second = startTenantEmitter([s.org], { name: first.name });
      try {
        const after = await receiveUntil(sub, (ns) => ns.length >= 3);
        after.push(...(await sub.receive(1)));
        expect(vids(after)).toEqual([3, 4, 5]);
        expect(after.every((n) => n.attributes.resourceId === id)).toBe(true);
      } finally {
        await second.stop();
      }
    } finally {
      await sub.close();
      await s.close();
    }
  });

  test('C32: emitter killed mid-batch (after 2 of 5 publishes, no checkpoint) → restart delivers all 5, at least once', async () => {
    const s = await startServer('events-kill');
    const sub = await subscribeTopic(s.org);
    try {
      await fiveVersions(s);
      let hung!: () => void;
      const third = new Promise<void>((r) => {
        hung = r;
      });
      let release!: (e: Error) => void;
      const gate = new Promise<void>((_, reject) => {
        release = reject;
      });
      const freezing = publishThen(2, () => {
        hung();
        return gate; // the process "dies" while publishing the 3rd
      });
      const first = startTenantEmitter([s.org], {
        handler: makeEmitter({ blobs: appDeps().blobs, publisher: freezing }),
      });
      await third;
      first.kill();
      release(new Error('process gone')); // what the dead process would have done is discarded

      const second = startTenantEmitter([s.org], { name: first.name });
      try {
        const all = await receiveUntil(sub, (ns) => new Set(vids(ns)).size >= 5);
        all.push(...(await sub.receive(1)));
        expect([...new Set(vids(all))]).toEqual([1, 2, 3, 4, 5]);
        // 1 and 2 were published before the kill and (unless an earlier batch had already
        // checkpointed them) again after it: at least once. 3 never left the dead process.
        const count = (v: number) => vids(all).filter((x) => x === v).length;
        expect([count(3), count(4), count(5)]).toEqual([1, 1, 1]);
        expect(count(1) + count(2)).toBeGreaterThanOrEqual(2);
      } finally {
        await second.stop();
      }
    } finally {
      await sub.close();
      await s.close();
    }
  });
});
