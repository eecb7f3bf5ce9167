import { randomBytes, randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { subscribe } from '../clients/subscriber';
import { resetWiring, wiring } from '../functions/wiring';
import { startLocalApp } from '../local/app';
import { mintToken } from '../local/dev-auth';
import { load, paired, type Row, rssPeak, type Section, times } from './report';

/*
 * #11 item 5: the API's overhead as ratios against the same work done directly with the AWS SDK
 * on the same emulator, growth with table size and with one resource's history, and the
 * 50-writer burst (5xx, emulator memory, notifications). BENCH_QUICK=1 runs small counts.
 */
const QUICK = process.env.BENCH_QUICK === '1';
const KiB = 1024;
const MiB = 1024 * KiB;

/** A fresh local app (its own emulator) and the calls the benchmarks make through it. */
async function session(emitter: boolean) {
  // Without an endpoint the local app starts its own emulator, not an earlier one's.
  // The composition root is built from the environment on first use: none may outlive its emulator.
  delete process.env.AWS_ENDPOINT_URL;
  resetWiring();
  const app = await startLocalApp({ port: 0, sweepMs: 0, emitter });
  const org = `bench-${randomUUID().slice(0, 8)}`;
  const base = `${app.origin}/organizations/${org}/fhir/4`;
  const auth = { authorization: `Bearer ${await mintToken({ organizations: [org] })}` };
  const { clients, appConfig } = wiring();
  const ok = async (r: Response, want: number, what: string) => {
    if (r.status !== want) throw new Error(`${what}: ${r.status} ${await r.text()}`);
    return r;
  };
  const create = async (body: Uint8Array | string, type = 'application/octet-stream') => {
    const c = await ok(
      await fetch(`${base}/Binary`, {
        method: 'POST',
        body: body as unknown as BodyInit,
        headers: { ...auth, 'content-type': type },
      }),
      201,
      'create',
    );
    await c.arrayBuffer();
    return /Binary\/([^/]+)\/_history/.exec(c.headers.get('location')!)![1]!;
  };
  const get = async (path: string) =>
    (await ok(await fetch(`${base}/${path}`, { headers: auth }), 200, path)).arrayBuffer();
  // The same storage calls made directly: PutObject + PutItem, GetItem + GetObject.
  const direct = async (body: Uint8Array) => {
    const key = `${org}/direct/${randomUUID()}`;
    await clients.s3.send(new PutObjectCommand({ Bucket: appConfig.bucketName, Key: key, Body: body }));
    await clients.ddb.send(
      new PutCommand({ TableName: appConfig.tableName, Item: { pk: `D#${key}`, sk: 'D', key } }),
    );
    await clients.ddb.send(
      new GetCommand({ TableName: appConfig.tableName, Key: { pk: `D#${key}`, sk: 'D' } }),
    );
    const o = await clients.s3.send(new GetObjectCommand({ Bucket: appConfig.bucketName, Key: key }));
    await o.Body!.transformToByteArray();
  };
  return { app, org, base, auth, appConfig, ok, create, get, direct };
}

export async function run(): Promise<Section[]> {
  return [...(await requestPath()), ...(await withNotifications())];
}

/**
 * The request path alone (notifications off): the API's overhead over the same storage calls, and
 * latency as the table and one resource's history grow. On AWS the emitter is another function;
 * locally it shares the one emulator, so it is measured apart (withNotifications).
 */
async function requestPath(): Promise<Section[]> {
  const { app, base, auth, ok, create, get, direct } = await session(false);
  try {
    // 1. Create + read of one Binary: the API against the same calls made directly.
    const overhead: Row[] = [];
    const perSec: Record<string, number> = {};
    for (const [label, size, goal] of [
      ['1 KiB', KiB, 2],
      ['1 MiB', MiB, 1.3],
    ] as const) {
      const body = randomBytes(size);
      for (const c of [1, 8]) {
        const n = QUICK ? 20 : size === KiB ? 200 : 50;
        // API and direct calls alternate, so a change in the machine's load hits both alike;
        // the API's throughput is measured alone.
        const apiOp = async () => get(`Binary/${await create(body)}`);
        const { a: api, b: sdk } = await paired(n, c, apiOp, () => direct(body));
        const { perSec: apiPerSec } = await load(n, c, apiOp);
        const ratio = api.p50 / sdk.p50;
        perSec[`${label}-${c}`] = apiPerSec;
        overhead.push({
          measure: `${label} create+read, ${c} client(s): p50 / p99 ms`,
          api: `${api.p50.toFixed(1)} / ${api.p99.toFixed(1)}, ${apiPerSec.toFixed(1)}/s alone`,
          direct: `${sdk.p50.toFixed(1)} / ${sdk.p99.toFixed(1)}`,
          ratio: `${times(ratio)} (p50)`,
          goal: `≤ ${goal}×`,
          met: ratio <= goal,
        });
      }
    }
    const scale = perSec['1 KiB-8']! / perSec['1 KiB-1']!;
    overhead.push({
      measure: '1 KiB create+read throughput, 8 clients vs 1',
      api: `${perSec['1 KiB-8']!.toFixed(1)} vs ${perSec['1 KiB-1']!.toFixed(1)}/s`,
      ratio: times(scale),
      goal: '≥ 2×',
      met: scale >= 2,
    });

    // 2. Growth: latency of each interaction when the tenant holds 100, 1,000 and 10,000 Binaries.
    const points = QUICK ? [50, 500] : [100, 1_000, 10_000];
    const tiny = randomBytes(64);
    const sample = QUICK ? 20 : 40;
    let held = 0;
    let someId = '';
    const growth: Record<string, number[]> = {
      create: [],
      read: [],
      'type history, first page': [],
      'search, first page': [],
    };
    for (const n of points) {
      await load(n - held, 4, async () => {
        someId = await create(tiny, 'text/plain');
      });
      held = n;
      growth.create!.push((await load(sample, 1, () => create(tiny, 'text/plain'))).p50);
      held += sample;
      growth.read!.push((await load(sample, 1, () => get(`Binary/${someId}`))).p50);
      growth['type history, first page']!.push(
        (await load(sample, 1, () => get('Binary/_history?_count=20'))).p50,
      );
      growth['search, first page']!.push((await load(sample, 1, () => get('Binary?_count=20'))).p50);
    }
    const growthRows: Row[] = Object.entries(growth).map(([what, p50s]) => {
      const ratio = p50s.at(-1)! / p50s[0]!;
      return {
        measure: `${what}: p50 ms at ${points.map((p) => p.toLocaleString('en')).join(' / ')} resources`,
        api: p50s.map((x) => x.toFixed(1)).join(' / '),
        ratio: times(ratio),
        ...(what === 'create' ? { goal: '≤ 1.2×', met: ratio <= 1.2 } : {}),
      };
    });
    // One resource's history: update and instance history at 1 and 1,000 versions.
    const versions = QUICK ? 100 : 1_000;
    const hid = await create(tiny, 'text/plain');
    const put = (i: number) =>
      fetch(`${base}/Binary/${hid}`, {
        method: 'PUT',
        body: `v${i}`,
        headers: { ...auth, 'content-type': 'text/plain' },
      }).then((r) => ok(r, 200, 'update').then((x) => x.arrayBuffer()));
    const hist = () => get(`Binary/${hid}/_history?_count=20`);
    const few = [(await load(sample / 2, 1, hist)).p50, (await load(sample / 2, 1, put)).p50];
    await load(versions - sample, 1, put);
    const many = [(await load(sample / 2, 1, hist)).p50, (await load(sample / 2, 1, put)).p50];
    growthRows.push(
      {
        measure: `instance history, first page: p50 ms at ~${sample / 2} / ${versions.toLocaleString('en')} versions`,
        api: `${few[0]!.toFixed(1)} / ${many[0]!.toFixed(1)}`,
        ratio: times(many[0]! / few[0]!),
      },
      {
        measure: `update: p50 ms at ~${sample / 2} / ${versions.toLocaleString('en')} versions`,
        api: `${few[1]!.toFixed(1)} / ${many[1]!.toFixed(1)}`,
        ratio: times(many[1]! / few[1]!),
      },
    );

    return [
      {
        title: 'API overhead: create + read through the API vs the same calls with the AWS SDK',
        rows: overhead,
      },
      { title: 'Growth with table size and history length (one tenant)', rows: growthRows },
    ];
  } finally {
    await app.stop();
  }
}

/**
 * As `npm start` runs: notifications on. The 1 KiB create+read again (the emitter now reads each
 * version and publishes it through the same emulator), and 50 concurrent writers to one id.
 */
async function withNotifications(): Promise<Section[]> {
  const { app, org, base, auth, appConfig, create, get, direct } = await session(true);
  try {
    const body = randomBytes(KiB);
    const { a: api, b: sdk } = await paired(
      QUICK ? 20 : 200,
      1,
      async () => get(`Binary/${await create(body)}`),
      () => direct(body),
    );
    const withEmitter: Row = {
      measure: '1 KiB create+read, 1 client, notifications on: p50 / p99 ms',
      api: `${api.p50.toFixed(1)} / ${api.p99.toFixed(1)}`,
      direct: `${sdk.p50.toFixed(1)} / ${sdk.p99.toFixed(1)}`,
      ratio: `${times(api.p50 / sdk.p50)} (p50)`,
    };
    // 50 concurrent writers to one id: 5xx answers, emulator memory, and every committed
    // version notified exactly once (the local stream poller → SNS → an SQS subscriber).
    const sub = await subscribe({
      endpoint: process.env.AWS_ENDPOINT_URL,
      topicArn: appConfig.topicArn!,
      org,
      name: 'bench-burst',
    });
    const id = randomUUID();
    const peak = rssPeak(app.motoPid, 100);
    const rssBefore = peak.stop();
    const during = rssPeak(app.motoPid, 100);
    const statuses: number[] = [];
    const bursts = QUICK ? 1 : 4;
    for (let burst = 0; burst < bursts; burst++) {
      const rs = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`${base}/Binary/${id}`, {
            method: 'PUT',
            body: `w${i}`,
            headers: { ...auth, 'content-type': 'text/plain' },
          }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      );
      statuses.push(...rs);
    }
    const rssPeakMiB = during.stop();
    const committed = statuses.filter((s) => s === 200 || s === 201).length;
    const seen = new Map<string, number>();
    for (let idle = 0; idle < 3 && [...seen.keys()].length < committed; ) {
      const got = await sub.receive(2);
      if (got.length === 0) idle++;
      for (const n of got)
        if (n.attributes.resourceId === id)
          seen.set(n.attributes.versionId!, (seen.get(n.attributes.versionId!) ?? 0) + 1);
    }
    await sub.close();
    const missing = Array.from({ length: committed }, (_, i) => String(i + 1)).filter(
      (v) => !seen.has(v),
    ).length;
    const duplicated = [...seen.values()].filter((c) => c > 1).length;
    const fivexx = statuses.filter((s) => s >= 500);
    const burstRows: Row[] = [
      {
        measure: `50 writers to one id × ${bursts}: answers`,
        api: `${committed} committed, ${statuses.length - committed - fivexx.length} 4xx, ${fivexx.length} 5xx`,
        goal: '0 × 5xx',
        met: fivexx.length === 0,
      },
      {
        measure: 'notifications for the committed versions',
        api: `${seen.size} of ${committed} versions, ${missing} missing, ${duplicated} duplicated`,
        goal: '0 lost, 0 skipped',
        met: missing === 0,
      },
      {
        measure: 'emulator RSS before / peak during the bursts',
        api: `${rssBefore.toFixed(0)} / ${rssPeakMiB.toFixed(0)} MiB`,
        goal: 'bounded',
      },
    ];

    return [
      { title: 'With notifications on (npm start as is)', rows: [withEmitter] },
      { title: '50 concurrent writers to one id', rows: burstRows },
    ];
  } finally {
    await app.stop();
  }
}
