import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { uploadFile } from '../clients/binary-transfer';
import { mintToken } from '../local/dev-auth';
import { stopProcess } from '../local/moto';
import { projectRoot } from '../local/paths';
import { rssPeak, type Section, times } from './report';

/**
 * #11 item 5, C28–C30/C19: a 256 MiB `$upload` (start, presigned part PUTs, completion) and its
 * 307 read-back against the same bytes sent with the SDK's multipart Upload and read with
 * GetObject on the same emulator; the API process's peak RSS for 256 MiB and 1 GiB (it must not
 * grow with the object). The read-back and a Range read are checked byte for byte.
 */
const MiB = 1024 * 1024;
const QUICK = process.env.BENCH_QUICK === '1';
const root = projectRoot();
const bin = join(root, 'node_modules', '.bin');

function makeFile(path: string, size: number): string {
  const fd = openSync(path, 'w');
  const hash = createHash('sha256');
  const buf = Buffer.alloc(8 * MiB);
  for (let done = 0; done < size; done += buf.length) {
    const chunk = buf.subarray(0, Math.min(buf.length, size - done));
    randomFillSync(chunk);
    hash.update(chunk);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  return hash.digest('hex');
}

/** The local service in its own process, so its memory is measured apart from the client's. */
interface Server {
  child: ChildProcess;
  origin: string;
  pid: number;
  endpoint: string;
  bucket: string;
}

async function startServer(): Promise<Server> {
  // Its own emulator (the local app starts one when no endpoint is set), not the one an earlier
  // benchmark in this process pointed the environment at.
  const { AWS_ENDPOINT_URL: _, ...env } = process.env;
  const child = spawn(join(bin, 'tsx'), ['bench/upload-server.ts'], {
    cwd: root,
    env: { ...env, PATH: `${bin}:${process.env.PATH}`, POWERTOOLS_LOG_LEVEL: 'SILENT' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`bench server exited ${c}`)));
  });
  return { child, ...(JSON.parse(line) as Omit<Server, 'child'>) };
}

async function sha256Of(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c);
  return h.digest('hex');
}

export async function run(): Promise<Section> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-upload-'));
  const server = await startServer();
  try {
    const org = 'bench';
    const base = `${server.origin}/organizations/${org}/fhir/4`;
    const token = await mintToken({ organizations: [org] });
    const size = (QUICK ? 64 : 256) * MiB;
    const file = join(dir, 'f.bin');
    const sha = makeFile(file, size);

    /** `$upload` + 307 read-back; returns seconds and the API process's peak RSS. */
    const viaApi = async (path: string, bytes: number, want?: string, verify = true) => {
      const peak = rssPeak(server.pid, 20);
      const t = performance.now();
      const res = await uploadFile({
        base,
        token,
        file: path,
        stateDir: join(dir, 'state'),
        concurrency: 4,
        sha256: verify,
      });
      const id = /Binary\/([^/]+)\/_history/.exec(res.location)![1]!;
      const r = await fetch(`${base}/Binary/${id}`, {
        headers: { authorization: `Bearer ${token}` },
        redirect: 'manual',
      });
      if (r.status !== 307) throw new Error(`expected 307, got ${r.status}`);
      const url = r.headers.get('location')!;
      const back = await sha256Of((await fetch(url)).body as unknown as AsyncIterable<Uint8Array>);
      const secs = (performance.now() - t) / 1000;
      const rss = peak.stop();
      if (want && back !== want) throw new Error('the read-back differs from the uploaded file');
      return { secs, rss, url, mibps: bytes / MiB / secs };
    };
    const api = await viaApi(file, size, sha);
    // Without a declared sha256 the service does not read the object back to verify it (C30).
    const plain = await viaApi(file, size, sha, false);
    // C19 Range through the presigned URL: the last KiB.
    const tail = Buffer.from(
      await (await fetch(api.url, { headers: { range: 'bytes=-1024' } })).arrayBuffer(),
    );
    const want = Buffer.alloc(1024);
    const fd = openSync(file, 'r');
    readSync(fd, want, 0, 1024, size - 1024);
    closeSync(fd);
    if (!tail.equals(want)) throw new Error('Range bytes=-1024 differs');

    // The same bytes with the SDK: multipart Upload (8 MiB parts, 4 at once, as the client does).
    const s3 = new S3Client({
      endpoint: server.endpoint,
      forcePathStyle: true,
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const t = performance.now();
    const key = `direct/${Date.now()}`;
    await new Upload({
      client: s3,
      params: { Bucket: server.bucket, Key: key, Body: createReadStream(file) },
      partSize: 8 * MiB,
      queueSize: 4,
    }).done();
    const o = await s3.send(new GetObjectCommand({ Bucket: server.bucket, Key: key }));
    if ((await sha256Of(o.Body as AsyncIterable<Uint8Array>)) !== sha)
      throw new Error('SDK read-back differs');
    const sdkSecs = (performance.now() - t) / 1000;
    const sdkMibps = size / MiB / sdkSecs;
    const ratio = api.mibps / sdkMibps;
    const plainRatio = plain.mibps / sdkMibps;

    // Memory against size: the same through the API at 4× the size.
    const big = join(dir, 'big.bin');
    const bigSize = size * 4;
    makeFile(big, bigSize);
    rmSync(file);
    const large = await viaApi(big, bigSize);
    rmSync(big);
    const mem = large.rss / api.rss;
    const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
    return {
      title: '`$upload` and the 307 read-back vs SDK multipart Upload + GetObject',
      rows: [
        {
          measure: `${mib(size)}: upload (sha256 declared and verified) + read-back, seconds and MiB/s`,
          api: `${api.secs.toFixed(1)} s, ${api.mibps.toFixed(0)} MiB/s`,
          direct: `${sdkSecs.toFixed(1)} s, ${sdkMibps.toFixed(0)} MiB/s`,
          ratio: `${times(ratio)} (throughput)`,
          goal: '≥ 0.9×',
          met: ratio >= 0.9,
        },
        {
          measure: `${mib(size)}: upload (no sha256) + read-back, seconds and MiB/s`,
          api: `${plain.secs.toFixed(1)} s, ${plain.mibps.toFixed(0)} MiB/s`,
          direct: `${sdkSecs.toFixed(1)} s, ${sdkMibps.toFixed(0)} MiB/s`,
          ratio: `${times(plainRatio)} (throughput)`,
          goal: '≥ 0.9×',
          met: plainRatio >= 0.9,
        },
        {
          measure: `API process peak RSS: ${mib(size)} vs ${mib(bigSize)}`,
          api: `${api.rss.toFixed(0)} vs ${large.rss.toFixed(0)} MiB (${mib(bigSize)} in ${large.secs.toFixed(1)} s)`,
          ratio: times(mem),
          goal: 'flat in size (≤ 1.2×)',
          met: mem <= 1.2,
        },
      ],
      notes: [
        'The API side is what `npm run -s binary -- upload` does (clients/binary-transfer.ts, 8 MiB parts, 4 at once): with sha256, the client hashes the file and the completion reads the whole object once more to verify it (C30); then presigned part PUTs, completion, the 307 and reading the object back. The SDK side is lib-storage Upload (same part size and concurrency) + GetObject. Both read-backs and a Range bytes=-1024 were checked against the file.',
      ],
    };
  } finally {
    await stopProcess(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
