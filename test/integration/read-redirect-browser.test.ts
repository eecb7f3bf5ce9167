import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { wiring } from '../../functions/wiring';
import { provisionBucket } from '../../local/provision';
import { startServer, type TestServer } from '../support/server';

// #14 item 5 (C19, C28): a browser reads a large Binary through the 307 to S3 from any origin,
// while only the configured origins may PUT parts. The bucket here gets the stack's CORS rules
// (infra/bucket-cors.ts) with one configured origin, as the stack would with allowedOrigins.
const CHROMIUM = '/usr/bin/chromium';
let s: TestServer;
let pages: Server[] = [];
let allowed: string;
let other: string;
let browser: BrowserContext;
let profile: string;

async function pageServer(): Promise<string> {
  const page = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>reader</title>');
  });
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', () => r()));
  pages.push(page);
  return `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install it with apt-get install -y chromium (.ci/run does).`);
  // Redirect reads above 1 KiB, and use a bucket of this file's own (jest isolates process.env).
  process.env.MAX_INLINE_BYTES = '1024';
  process.env.BUCKET_NAME = `cors-${randomUUID().slice(0, 8)}`;
  [allowed, other] = [await pageServer(), await pageServer()];
  s = await startServer('cors');
  await provisionBucket(wiring().clients.s3, process.env.BUCKET_NAME, [allowed]);
  profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  for (const p of pages) await new Promise<void>((r) => p.close(() => r()));
  pages = [];
  await s?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** fetch() run in a tab of `origin`: status and bytes, or the error a CORS refusal gives. */
async function fetchFrom(
  origin: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const tab = await browser.newPage();
  try {
    await tab.goto(`${origin}/`);
    return await tab.evaluate(
      async ([u, i]) => {
        try {
          const res = await fetch(u, i);
          const bytes = Array.from(new Uint8Array(await res.arrayBuffer()));
          return {
            status: res.status,
            redirected: res.redirected,
            bytes,
            type: res.headers.get('content-type'),
          };
        } catch (e) {
          return { error: String(e) };
        }
      },
      [url, init] as const,
    );
  } finally {
    await tab.close();
  }
}

test('C19: a browser on a configured origin and one on any other origin both read a redirected Binary', async () => {
  const bytes = randomBytes(4096);
  const created = await s.fetch('/Binary', {
    method: 'POST',
    body: bytes,
    headers: { 'content-type': 'application/octet-stream' },
  });
  expect(created.status).toBe(201);
  const id = created.headers.get('location')!.split('/Binary/')[1]!.split('/')[0]!;
  const direct = await s.fetch(`/Binary/${id}`, { redirect: 'manual' });
  expect(direct.status).toBe(307);
  await direct.arrayBuffer();

  for (const origin of [allowed, other]) {
    const r = await fetchFrom(origin, `${s.base}/Binary/${id}`, {
      headers: { authorization: `Bearer ${s.token}` },
    });
    expect(r).toMatchObject({ status: 200, redirected: true, type: 'application/octet-stream' });
    expect(Buffer.from((r as { bytes: number[] }).bytes).equals(bytes)).toBe(true);
  }
});

test('C28: only a configured origin may PUT a part to its presigned URL', async () => {
  const start = await s.fetch('/Binary/$upload', {
    method: 'POST',
    body: JSON.stringify({ contentType: 'text/plain', size: 5 }),
    headers: { 'content-type': 'application/json' },
  });
  expect(start.status).toBe(201);
  const { parts } = (await start.json()) as { parts: { url: string }[] };
  const put = (origin: string) => fetchFrom(origin, parts[0]!.url, { method: 'PUT', body: 'hello' });
  expect(await put(other)).toEqual({ error: expect.stringMatching(/Failed to fetch/) });
  expect(await put(allowed)).toMatchObject({ status: 200 });
});
