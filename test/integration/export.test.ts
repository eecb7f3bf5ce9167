import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { Binary, OperationOutcome } from 'fhir/r4';
import { MAX_EMBEDDED_DATA_BYTES } from '../../functions/core/binary';
import { type ExportOperationDeps, runExport } from '../../functions/core/export';
import type { ExportFileStore } from '../../functions/core/export-ports';
import type { VersionRecord } from '../../functions/core/ports';
import { commitVersion } from '../../functions/core/write';
import { handler as worker } from '../../functions/handlers/export-worker';
import { appDeps } from '../../functions/wiring';
import { mintToken } from '../../local/dev-auth';
import { type ExportPoller, startExportPoller } from '../../local/export-poller';
import { provisionExportQueue } from '../../local/provision';
import { startServer, type TestServer } from '../support/server';

/*
 * C35 bulk export end to end through HTTP: kick-off, status, manifest, downloads, against the
 * local server with the worker driven from its own queue in slices of 8 s (so the export only
 * completes by continuing across invocations from its checkpoints).
 */

const TOTAL = 2000;
const DELETED = 46;
const LARGE = 4;

let s: TestServer;
let poller: ExportPoller;
let invocations = 0;
/** id → the data (base64) each current Binary of the tenant must carry, or 'absent'. */
const expected = new Map<string, string | 'absent'>();

const countingWorker = (event: SQSEvent, context: { getRemainingTimeInMillis(): number }) => {
  invocations++;
  return worker(event, context) as Promise<SQSBatchResponse>;
};

async function seed(org: string, n: number, prefix: string, into?: Map<string, string | 'absent'>) {
  const deps = appDeps();
  const queue = Array.from({ length: n }, (_, i) => i);
  const one = async (i: number) => {
    const id = `${prefix}-${String(i).padStart(5, '0')}`;
    const large = into !== undefined && i < LARGE;
    const text = `${prefix} #${i} ${'x'.repeat(i % 50)}`;
    const bytes = Buffer.from(text);
    let size = bytes.length;
    let blobKey = `${org}/Binary/${id}/${randomUUID()}`;
    if (large) {
      // Over the 10 MiB rule, and never stored: the export must not try to read these bytes.
      size = MAX_EMBEDDED_DATA_BYTES + 1 + i;
      blobKey = `${org}/Binary/${id}/never-stored`;
    } else {
      await deps.blobs.put(blobKey, bytes, { contentType: 'text/plain' });
    }
    const record: VersionRecord = {
      org,
      id,
      vid: 1,
      lastUpdated: new Date().toISOString(),
      method: 'POST',
      created: true,
      deleted: false,
      resource: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain' }),
      contentType: 'text/plain',
      size,
      blobKey,
    };
    await deps.repo.commit(record, { expectedVid: 0 });
    if (into !== undefined && i >= LARGE && i < LARGE + DELETED) {
      await commitVersion(deps, { org, id, method: 'DELETE' });
      return;
    }
    into?.set(id, large ? 'absent' : bytes.toString('base64'));
  };
  for (let i = 0; i < queue.length; i += 16) await Promise.all(queue.slice(i, i + 16).map(one));
}

beforeAll(async () => {
  process.env.EXPORT_QUEUE_URL = await provisionExportQueue(
    process.env.AWS_ENDPOINT_URL!,
    `export-test-${randomUUID().slice(0, 8)}`,
  );
  process.env.EXPORT_FILE_BYTES = String(128 * 1024);
  process.env.EXPORT_PAGE_SIZE = '500';
  process.env.EXPORT_MARGIN_MS = '2000';
  s = await startServer('export');
  await seed(s.org, TOTAL, 'b', expected);
  // Another tenant's Binaries in the same table and bucket.
  await seed(`${s.org}-other`, 30, 'other');
  poller = startExportPoller({
    handler: countingWorker,
    queueUrl: process.env.EXPORT_QUEUE_URL,
    budgetMs: 8000,
    retrySeconds: 1,
  });
}, 900_000);

afterAll(async () => {
  await poller?.stop();
  await s?.close();
});

type Init = Omit<RequestInit, 'headers'> & { headers?: Record<string, string> };
const kickoff = (path = '/Binary/$export', init: Init = {}) =>
  s.fetch(path, {
    ...init,
    headers: { prefer: 'respond-async', accept: 'application/fhir+json', ...init.headers },
  });

/** A client of another tenant on the same server: its own lock, its own Binaries. */
async function tenant(suffix: string) {
  const org = `${s.org}-${suffix}`;
  const token = await mintToken({ organizations: [org] });
  const base = `${s.origin}/organizations/${org}/fhir/4`;
  const f = (path: string, init: Init = {}) =>
    fetch(path.startsWith('http') ? path : `${base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...init.headers },
    });
  return { org, token, base, f };
}

// Generous: the export itself takes seconds on an idle machine; a loaded one must not fail it.
async function awaitManifest(statusUrl: string, fetcher = s.fetch, timeoutMs = 600_000) {
  const progress: string[] = [];
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const res = await fetcher(statusUrl);
    if (res.status === 200) return { manifest: await res.json(), progress, res };
    expect(res.status).toBe(202);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    progress.push(res.headers.get('x-progress') ?? '');
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no manifest after ${timeoutMs} ms; last progress ${progress.at(-1)}`);
}

async function download(url: string, fetcher = s.fetch): Promise<Binary[]> {
  const res = await fetcher(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/fhir+ndjson');
  const text = await res.text();
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Binary);
}

describe('C35 bulk export', () => {
  test('C35: 2,000 Binaries (4 over 10 MiB, 46 deleted, another tenant present) export exactly the current ones, across worker invocations', async () => {
    const res = await kickoff();
    expect(res.status).toBe(202);
    const statusUrl = res.headers.get('content-location')!;
    expect(statusUrl).toMatch(new RegExp(`^${s.base.replace(/[.$]/g, '\\$&')}/Binary/\\$export/[\\w-]+$`));

    // One export per tenant at a time.
    const second = await kickoff();
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await second.json()) as OperationOutcome).issue[0]!.code).toBe('throttled');

    const { manifest, progress } = await awaitManifest(statusUrl);
    expect(progress.some((p) => /^\d+ Binaries in \d+ files$/.test(p))).toBe(true);
    expect(manifest).toMatchObject({
      request: `${s.base}/Binary/$export`,
      requiresAccessToken: true,
      error: [],
    });
    expect(Date.parse(manifest.transactionTime)).toBeGreaterThan(0);
    expect(manifest.output.length).toBeGreaterThan(3); // split at 128 KiB
    expect(invocations).toBeGreaterThan(1); // continued across invocations

    const seen = new Map<string, Binary>();
    let total = 0;
    for (const out of manifest.output as { type: string; url: string; count: number }[]) {
      expect(out.type).toBe('Binary');
      expect(out.url).toMatch(
        new RegExp(`^${s.base.replace(/[.$]/g, '\\$&')}/Binary/[\\w.-]+/\\$export-download$`),
      );
      const lines = await download(out.url);
      expect(lines).toHaveLength(out.count);
      total += out.count;
      for (const b of lines) {
        expect(b.resourceType).toBe('Binary');
        expect(b.meta?.versionId).toBe('1');
        expect(seen.has(b.id!)).toBe(false);
        seen.set(b.id!, b);
      }
      // Idempotent: the same file again, byte for byte.
      const again = await download(out.url);
      expect(again).toEqual(lines);
    }
    expect(total).toBe(TOTAL - DELETED);
    expect(new Set(seen.keys())).toEqual(new Set(expected.keys()));
    for (const [id, data] of expected) {
      const b = seen.get(id)!;
      if (data === 'absent') {
        expect(b.data).toBeUndefined();
        expect(b._data?.extension?.[0]?.url).toBe(
          'http://hl7.org/fhir/StructureDefinition/data-absent-reason',
        );
      } else {
        expect(b.data).toBe(data);
      }
    }

    // Only the exporting tenant can download: another tenant's token and base find nothing.
    const otherOrg = `${s.org}-other`;
    const otherToken = await mintToken({ organizations: [otherOrg] });
    const fileId = new URL(manifest.output[0].url).pathname.split('/').at(-2);
    const foreign = await fetch(
      `${s.origin}/organizations/${otherOrg}/fhir/4/Binary/${fileId}/$export-download`,
      {
        headers: { authorization: `Bearer ${otherToken}` },
      },
    );
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as OperationOutcome).resourceType).toBe('OperationOutcome');

    // The lock is released: a new export may start (and is cancelled at once).
    const next = await kickoff();
    expect(next.status).toBe(202);
    expect((await s.fetch(next.headers.get('content-location')!, { method: 'DELETE' })).status).toBe(202);
  }, 300_000);

  test('C35: _since exports only what changed since then; a file over 4 MiB is a presigned redirect', async () => {
    const { org, token, base, f } = await tenant('since');
    await seed(org, 5, 'early');
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const big = Buffer.alloc(3.5 * 1024 * 1024, 'a');
    const put = await f('/Binary/late-big', {
      method: 'PUT',
      body: big,
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(201);
    const res = await f(
      `/Binary/$export?_since=${encodeURIComponent(since)}&_type=Binary&_outputFormat=ndjson`,
      {
        headers: { prefer: 'respond-async' },
      },
    );
    expect(res.status).toBe(202);
    const { manifest } = await awaitManifest(res.headers.get('content-location')!, f);
    expect(manifest.output).toHaveLength(1);
    expect(manifest.output[0].count).toBe(1);
    const dl = await f(manifest.output[0].url, { redirect: 'manual' });
    expect(dl.status).toBe(307);
    const followed = await fetch(dl.headers.get('location')!);
    expect(followed.status).toBe(200);
    const line = JSON.parse((await followed.text()).trim()) as Binary;
    expect(line.id).toBe('late-big');
    expect(Buffer.from(line.data!, 'base64').equals(big)).toBe(true);

    // The CLI (C35): kick-off, poll, download every file (the large one through its redirect).
    const dir = await mkdtemp(path.join(tmpdir(), 'export-cli-'));
    const cli = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'clients/binary-cli.ts', 'export', '--base', base, '--token', token, '-o', dir],
      { env: { ...process.env, INIT_CWD: process.cwd() } },
    );
    const files = cli.stdout.trim().split('\n');
    expect(files.length).toBeGreaterThanOrEqual(1);
    const ids = (await Promise.all(files.map((f) => readFile(f, 'utf8'))))
      .flatMap((t) => t.trim().split('\n'))
      .map((l) => (JSON.parse(l) as Binary).id)
      .sort();
    expect(ids).toEqual([
      'early-00000',
      'early-00001',
      'early-00002',
      'early-00003',
      'early-00004',
      'late-big',
    ]);
    expect(cli.stderr).toMatch(/6 Binaries in \d+ files/);
  }, 700_000);

  test('C35: kick-off input errors are 400 OperationOutcomes; a POST Parameters kick-off and cancel work', async () => {
    const bad: [string, Record<string, string>][] = [
      ['/Binary/$export', { prefer: '' }],
      ['/Binary/$export?_outputFormat=text/csv', {}],
      ['/Binary/$export?_type=Patient', {}],
      ['/Binary/$export?_since=yesterday', {}],
      ['/Binary/$export?_typeFilter=Binary%3FcontentType%3Dtext/plain', {}],
      ['/Binary/$export?foo=bar', {}],
    ];
    const { f } = await tenant('inputs');
    const kickoff = (path: string, init: Init = {}) =>
      f(path, {
        ...init,
        headers: { prefer: 'respond-async', accept: 'application/fhir+json', ...init.headers },
      });
    for (const [path, headers] of bad) {
      const res = await kickoff(path, { headers });
      expect(res.status).toBe(400);
      expect(((await res.json()) as OperationOutcome).issue[0]!.diagnostics).toBeTruthy();
    }
    const res = await kickoff('/Binary/$export', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
          { name: '_since', valueInstant: '2020-01-01T00:00:00Z' },
        ],
      }),
    });
    expect(res.status).toBe(202);
    const statusUrl = res.headers.get('content-location')!;
    expect((await f(statusUrl, { method: 'DELETE' })).status).toBe(202);
    expect((await f(statusUrl)).status).toBe(404);
    expect((await f(statusUrl, { method: 'DELETE' })).status).toBe(404);
    expect((await f('/Binary/nope.1/$export-download')).status).toBe(404);
  }, 60_000);

  test('C35: a POST kick-off reads its Parameters body (found by the e2e suite: they were ignored, so _since exported everything)', async () => {
    const { f } = await tenant('post-params');
    const post = (body: string, type = 'application/fhir+json') =>
      f('/Binary/$export', {
        method: 'POST',
        headers: { prefer: 'respond-async', 'content-type': type },
        body,
      });
    const params = (...parameter: Record<string, string>[]) =>
      JSON.stringify({ resourceType: 'Parameters', parameter });
    const bad: [Response, number, string, RegExp][] = [
      [await post(params({ name: '_type', valueString: 'Patient' })), 400, 'not-supported', /Patient/],
      [await post(params({ name: '_since', valueInstant: 'yesterday' })), 400, 'value', /_since=yesterday/],
      [await post(params({ name: '_elements', valueString: 'id' })), 400, 'not-supported', /_elements/],
      [
        await post(JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain' })),
        400,
        'structure',
        /Parameters/,
      ],
      [await post('{"resourceType":'), 400, 'structure', /JSON/],
      [
        await post(params({ name: '_since', valueInstant: '2020-01-01T00:00:00Z' }), 'text/plain'),
        415,
        'not-supported',
        /Parameters/,
      ],
    ];
    for (const [res, status, code, diagnostics] of bad) {
      const oo = (await res.json()) as OperationOutcome;
      expect({ status: res.status, code: oo.issue[0]!.code }).toEqual({ status, code });
      expect(oo.issue[0]!.diagnostics).toMatch(diagnostics);
    }
  });

  test('C35: a worker stopped mid-file resumes from its checkpoint: no duplicate, no missing line', async () => {
    const org = `${s.org}-crash`;
    await seed(org, 120, 'c');
    const deps = appDeps();
    const jobId = randomUUID();
    const started = await deps.exportJobs.start(
      {
        org,
        jobId,
        status: 'running',
        request: 'test',
        transactionTime: new Date().toISOString(),
        files: [],
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      },
      3600,
    );
    expect(started).toBe(true);
    // Dies while writing its third file, after 10 of its lines.
    let lines = 0;
    const crashing: ExportFileStore = {
      ...deps.exportFiles,
      open: (o, j, name) => {
        const w = deps.exportFiles.open(o, j, name);
        return {
          ...w,
          write: async (line) => {
            if (name === '3.ndjson' && ++lines > 10) throw new Error('killed');
            await w.write(line);
          },
        };
      },
      size: deps.exportFiles.size.bind(deps.exportFiles),
      read: deps.exportFiles.read.bind(deps.exportFiles),
      presignGet: deps.exportFiles.presignGet.bind(deps.exportFiles),
      removeAll: deps.exportFiles.removeAll.bind(deps.exportFiles),
    };
    const small = { ...deps.exportConfig, fileBytes: 2048, marginMs: 0 };
    const forever = () => 60_000;
    const crashDeps = { ...deps, exportFiles: crashing, exportConfig: small } as ExportOperationDeps;
    await expect(runExport(org, jobId, crashDeps, forever)).rejects.toThrow('killed');
    const checkpoint = (await deps.exportJobs.get(org, jobId))!;
    expect(checkpoint.files.map((f) => f.n)).toEqual([1, 2]);

    expect(
      await runExport(org, jobId, { ...deps, exportConfig: small } as ExportOperationDeps, forever),
    ).toBe('done');
    const job = (await deps.exportJobs.get(org, jobId))!;
    expect(job.status).toBe('complete');
    const ids: string[] = [];
    for (const f of job.files) {
      const text = Buffer.from(await deps.exportFiles.read(org, jobId, `${f.n}.ndjson`)).toString();
      const got = text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as Binary).id!);
      expect(got).toHaveLength(f.count);
      ids.push(...got);
    }
    expect(ids).toHaveLength(120);
    expect(new Set(ids).size).toBe(120);
  }, 600_000);

  test('C35: a job that keeps failing ends with its error in the manifest, not an HTTP 500', async () => {
    const { org, f } = await tenant('fail');
    // A small Binary whose bytes are gone: every attempt fails to read them.
    await appDeps().repo.commit(
      {
        org,
        id: 'lost',
        vid: 1,
        lastUpdated: new Date().toISOString(),
        method: 'POST',
        created: true,
        deleted: false,
        resource: '{"resourceType":"Binary","contentType":"text/plain"}',
        contentType: 'text/plain',
        size: 5,
        blobKey: `${org}/Binary/lost/gone`,
      },
      { expectedVid: 0 },
    );
    const res = await f('/Binary/$export', { headers: { prefer: 'respond-async' } });
    expect(res.status).toBe(202);
    const { manifest } = await awaitManifest(res.headers.get('content-location')!, f);
    expect(manifest.output).toEqual([]);
    expect(manifest.error).toHaveLength(1);
    const err = await f(manifest.error[0].url);
    expect(err.status).toBe(200);
    const outcome = JSON.parse((await err.text()).trim()) as OperationOutcome;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]!.diagnostics).toMatch(/3 failed attempts/);
  }, 700_000);
});
