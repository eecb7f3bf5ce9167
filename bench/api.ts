import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { wiring } from '../functions/wiring';
import { startLocalApp } from '../local/app';
import { mintToken } from '../local/dev-auth';
import { MOTO_VERSION } from '../local/moto';
import { projectRoot } from '../local/paths';

/*
 * #11 item 5: the API's overhead as ratios against the same work done directly with the AWS SDK
 * on the same emulator, growth with table size, the 50-writer burst, and the cold-start proxy
 * (bundle size and import time). Writes bench/results.md. BENCH_QUICK=1 runs small counts (the
 * table then says so); timings depend on the machine's load, which the table records.
 */
const QUICK = process.env.BENCH_QUICK === '1';
const KiB = 1024;
const MiB = 1024 * KiB;
const rows: string[] = [];
const row = (...cells: (string | number)[]) => rows.push(`| ${cells.join(' | ')} |`);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

/** Runs `op` `count` times over `clients` concurrent loops; latencies in ms and ops/s. */
async function load(count: number, clients: number, op: (i: number) => Promise<unknown>) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        await op(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { p50: pct(lat, 50), p99: pct(lat, 99), perSec: count / secs };
}

const motoRss = (pid: number | undefined): number => {
  if (!pid) return 0;
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
};

export async function run(): Promise<void> {
  const app = await startLocalApp({ port: 0, sweepMs: 0 });
  try {
    const org = `bench-${randomUUID().slice(0, 8)}`;
    const base = `${app.origin}/organizations/${org}/fhir/4`;
    const auth = { authorization: `Bearer ${await mintToken({ organizations: [org] })}` };
    const { clients, appConfig } = wiring();

    const apiCreateRead = async (body: Uint8Array) => {
      const c = await fetch(`${base}/Binary`, {
        method: 'POST',
        body: body as unknown as BodyInit,
        headers: { ...auth, 'content-type': 'application/octet-stream' },
      });
      if (c.status !== 201) throw new Error(`create ${c.status}`);
      const loc = c.headers.get('location')!;
      const id = /Binary\/([^/]+)\/_history/.exec(loc)![1]!;
      const r = await fetch(`${base}/Binary/${id}`, { headers: auth });
      if (r.status !== 200) throw new Error(`read ${r.status}`);
      await r.arrayBuffer();
    };
    const sdkCreateRead = async (body: Uint8Array) => {
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

    row('measure', 'API', 'direct SDK', 'ratio', 'goal', 'met');
    row('---', '---', '---', '---', '---', '---');
    const results: Record<string, number> = {};
    for (const [label, size, goal] of [
      ['1 KiB', KiB, 2],
      ['1 MiB', MiB, 1.3],
    ] as const) {
      const body = randomBytes(size);
      for (const c of [1, 8]) {
        const n = QUICK ? 20 : size === KiB ? 200 : 50;
        const api = await load(n, c, () => apiCreateRead(body));
        const sdk = await load(n, c, () => sdkCreateRead(body));
        const ratio = api.p50 / sdk.p50;
        results[`${label}-${c}`] = api.perSec;
        row(
          `${label} create+read, ${c} client(s): p50 / p99 ms, ops/s`,
          `${api.p50.toFixed(1)} / ${api.p99.toFixed(1)}, ${api.perSec.toFixed(1)}/s`,
          `${sdk.p50.toFixed(1)} / ${sdk.p99.toFixed(1)}, ${sdk.perSec.toFixed(1)}/s`,
          `${ratio.toFixed(2)}× (p50)`,
          `≤ ${goal}×`,
          ratio <= goal ? 'met' : 'missed',
        );
      }
    }
    const scale = results['1 KiB-8']! / results['1 KiB-1']!;
    row(
      '1 KiB 8-client vs 1-client throughput',
      '',
      '',
      `${scale.toFixed(2)}×`,
      '≥ 2×',
      scale >= 2 ? 'met' : 'missed',
    );

    // Growth: create latency when the tenant holds few resources vs many.
    const small = QUICK ? 50 : 100;
    const large = QUICK ? 500 : 10_000;
    const tiny = randomBytes(64);
    const create = () =>
      fetch(`${base}/Binary`, {
        method: 'POST',
        body: tiny,
        headers: { ...auth, 'content-type': 'text/plain' },
      }).then((r) => r.arrayBuffer());
    const at = async () => (await load(QUICK ? 20 : 100, 1, create)).p50;
    await load(small, 4, create);
    const atSmall = await at();
    await load(large - small, 4, create);
    const atLarge = await at();
    const growth = atLarge / atSmall;
    row(
      `create p50 at ${large} vs ${small} resources`,
      `${atLarge.toFixed(1)} vs ${atSmall.toFixed(1)} ms`,
      '',
      `${growth.toFixed(2)}×`,
      '≤ 1.2×',
      growth <= 1.2 ? 'met' : 'missed',
    );

    // 50 concurrent writers to one id: 5xx answers and emulator memory.
    const id = randomUUID();
    const rssBefore = motoRss(app.motoPid);
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, motoRss(app.motoPid));
    }, 100);
    const statuses: number[] = [];
    for (let burst = 0; burst < (QUICK ? 1 : 4); burst++) {
      const rs = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`${base}/Binary/${id}`, {
            method: 'PUT',
            body: `w${i}`,
            headers: { ...auth, 'content-type': 'text/plain' },
          }).then((r) => r.status),
        ),
      );
      statuses.push(...rs);
    }
    clearInterval(sampler);
    const fivexx = statuses.filter((s) => s >= 500);
    row(
      `50 writers to one id × ${QUICK ? 1 : 4} bursts: 5xx (503 = refused before commit, retryable)`,
      `${fivexx.length} (${fivexx.filter((s) => s === 503).length} × 503)`,
      '',
      '',
      '0 × 500',
      fivexx.some((s) => s !== 503) ? 'missed' : fivexx.length ? 'met for 500s; 503s seen' : 'met',
    );
    row(
      'emulator RSS before / peak during bursts',
      `${rssBefore.toFixed(0)} / ${peak.toFixed(0)} MiB`,
      '',
      '',
      'bounded',
      '',
    );

    // Cold-start proxy: each synthesized bundle's size and import time in a fresh Node process.
    const out = join(projectRoot(), 'cdk.out');
    if (existsSync(out)) {
      const { spawnSync } = await import('node:child_process');
      for (const d of readdirSync(out).filter((n) => n.startsWith('asset.'))) {
        const file = join(out, d, 'index.js');
        if (!existsSync(file)) continue;
        const size = statSync(file).size;
        const t = spawnSync(process.execPath, [
          '-e',
          `const t=performance.now();require(${JSON.stringify(file)});console.log(performance.now()-t)`,
        ]);
        const ms = Number(String(t.stdout).trim());
        const ok = size <= 1_000_000 && ms <= 150;
        row(
          `bundle ${d.slice(6, 18)}: size, import`,
          `${(size / 1024).toFixed(0)} KiB, ${ms.toFixed(0)} ms`,
          '',
          '',
          '≤ 1 MB, ≤ 150 ms',
          ok ? 'met' : 'missed',
        );
      }
    } else {
      row('bundles', 'run `npm run synth` first', '', '', '≤ 1 MB, ≤ 150 ms', 'not measured');
    }
  } finally {
    await app.stop();
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, load average at start ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`;
  const text = [
    '# Benchmark results',
    '',
    `Run ${new Date().toISOString()}${QUICK ? ' with BENCH_QUICK=1 (small counts: indicative only)' : ''}.`,
    `Machine: ${machine}. Node ${process.version}, moto ${MOTO_VERSION}.`,
    'API = the local server (same handlers as Lambda) over HTTP; direct SDK = PutObject + PutItem, GetItem + GetObject on the same emulator.',
    '',
    ...rows,
    '',
  ].join('\n');
  writeFileSync(join(projectRoot(), 'bench', 'results.md'), text);
  console.log(text);
}
