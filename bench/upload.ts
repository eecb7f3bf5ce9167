import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { uploadFile } from '../clients/binary-transfer';
import { mintToken } from '../local/dev-auth';
import { stopProcess } from '../local/moto';
import { projectRoot } from '../local/paths';

/**
 * C28–C30/C19/C37 at size: a 300 MiB file through the CLI reads back byte-identical through the
 * 307, a Range read of its last KiB is right, and the server's RSS while a 1 GiB upload
 * completes (with sha256 verification, the only step that reads the bytes) stays flat.
 */
const MiB = 1024 * 1024;
const root = projectRoot();
const bin = join(root, 'node_modules', '.bin');
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };

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

const rssKiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function startServer(): Promise<{ child: ChildProcess; origin: string; pid: number }> {
  const child = spawn(join(bin, 'tsx'), ['bench/upload-server.ts'], {
    cwd: root,
    env: { ...env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`bench server exited ${c}`)));
  });
  return { child, ...(JSON.parse(line) as { origin: string; pid: number }) };
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; ms: number }> {
  const t = Date.now();
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, stdout, ms: Date.now() - t }));
  });
}

async function sha256Of(stream: AsyncIterable<Uint8Array>): Promise<{ hex: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const c of stream) {
    h.update(c);
    bytes += c.length;
  }
  return { hex: h.digest('hex'), bytes };
}

export async function runBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-upload-'));
  const server = await startServer();
  try {
    const org = 'bench';
    const base = `${server.origin}/organizations/${org}/fhir/4`;
    const token = await mintToken({ organizations: [org] });

    // 1. 300 MiB through the CLI, read back through the 307.
    const f300 = join(dir, 'f300.bin');
    const sha300 = makeFile(f300, 300 * MiB);
    const up = await run(join(bin, 'tsx'), [
      'clients/binary-cli.ts',
      'upload',
      f300,
      '--base',
      base,
      '--token',
      token,
    ]);
    if (up.code !== 0) throw new Error(`CLI upload failed (${up.code})`);
    const location = up.stdout.trim();
    const id = /Binary\/([^/]+)\/_history/.exec(location)![1]!;
    console.log(
      `300 MiB CLI upload (incl. local sha256 + server verification): ${(up.ms / 1000).toFixed(1)} s`,
    );
    const r = await fetch(`${base}/Binary/${id}`, {
      headers: { authorization: `Bearer ${token}` },
      redirect: 'manual',
    });
    if (r.status !== 307) throw new Error(`expected 307, got ${r.status}`);
    const url = r.headers.get('location')!;
    const t = Date.now();
    const back = await sha256Of((await fetch(url)).body as unknown as AsyncIterable<Uint8Array>);
    console.log(
      `307 read-back: ${back.bytes} bytes in ${((Date.now() - t) / 1000).toFixed(1)} s, sha256 ${back.hex === sha300 ? 'IDENTICAL' : 'DIFFERENT'}`,
    );
    if (back.hex !== sha300) throw new Error('read-back differs');
    const tail = Buffer.from(await (await fetch(url, { headers: { range: 'bytes=-1024' } })).arrayBuffer());
    const fd = openSync(f300, 'r');
    const want = Buffer.alloc(1024);
    readSync(fd, want, 0, 1024, 300 * MiB - 1024);
    closeSync(fd);
    console.log(`Range bytes=-1024: ${tail.equals(want) ? 'RIGHT' : 'WRONG'}`);
    if (!tail.equals(want)) throw new Error('range read differs');
    rmSync(f300);

    // 2. 1 GiB: server RSS while the upload completes (sha256 declared, so it streams the object).
    const f1g = join(dir, 'f1g.bin');
    makeFile(f1g, 1024 * MiB);
    const before = rssKiB(server.pid);
    let peakUpload = before;
    let peakComplete = 0;
    let completing = false;
    let completeStarted = 0;
    const sampler = setInterval(() => {
      const v = rssKiB(server.pid);
      if (completing) peakComplete = Math.max(peakComplete, v);
      else peakUpload = Math.max(peakUpload, v);
    }, 20);
    const parts = Math.ceil((1024 * MiB) / (8 * MiB));
    let stored = 0;
    const t1 = Date.now();
    const res = await uploadFile({
      base,
      token,
      file: f1g,
      stateDir: join(dir, 'state'),
      onPart: () => {
        if (++stored === parts) {
          completing = true;
          completeStarted = Date.now();
        }
      },
    });
    const completeMs = Date.now() - completeStarted;
    clearInterval(sampler);
    console.log(`1 GiB upload: ${((Date.now() - t1) / 1000).toFixed(1)} s total, ${res.location}`);
    console.log(
      `1 GiB completion (list parts, assemble, verify sha256 by streaming 1 GiB, commit): ${(completeMs / 1000).toFixed(1)} s` +
        '',
    );
    console.log(
      `server RSS: ${(before / 1024).toFixed(0)} MiB before, peak ${(peakUpload / 1024).toFixed(0)} MiB while parts were PUT, ` +
        `peak ${(peakComplete / 1024).toFixed(0)} MiB during completion`,
    );
    // The same without a declared sha256: the difference is what verification costs.
    let stored2 = 0;
    let t2 = 0;
    await uploadFile({
      base,
      token,
      file: f1g,
      sha256: false,
      stateDir: join(dir, 'state'),
      onPart: () => {
        if (++stored2 === parts) t2 = Date.now();
      },
    });
    const plainMs = Date.now() - t2;
    console.log(
      `1 GiB completion without sha256: ${(plainMs / 1000).toFixed(1)} s → verifying 1 GiB cost ${((completeMs - plainMs) / 1000).toFixed(1)} s ` +
        `(${((1024 / Math.max(1, completeMs - plainMs)) * 1000).toFixed(0)} MiB/s streamed from moto and hashed)`,
    );
    rmSync(f1g);
  } finally {
    await stopProcess(server.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

export { runBench as run };
