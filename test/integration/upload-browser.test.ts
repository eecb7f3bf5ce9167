import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { startServer, type TestServer } from '../support/server';

const CHROMIUM = '/usr/bin/chromium';
const MiB = 1024 * 1024;
let s: TestServer;
let page: Server;
let pageOrigin: string;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install it with apt-get install -y chromium (.ci/run does).`);
  s = await startServer('browser');
  // The fixture page comes from its own origin, so every call it makes is cross-origin.
  const html = readFileSync(join(__dirname, '..', 'fixtures', 'upload.html'));
  page = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((r) => page.listen(0, '127.0.0.1', () => r()));
  pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (page ? page.close(() => r()) : r()));
  await s?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('C28/C30: a browser uploads through $upload cross-origin (bucket CORS exposes ETag) and completes without ETags', async () => {
  const tab = await browser.newPage();
  await tab.goto(`${pageOrigin}/upload.html`);
  const bytes = randomBytes(11 * MiB + 99);
  await tab.setInputFiles('#file', { name: 'scan.png', mimeType: 'image/png', buffer: bytes });
  const result = await tab.evaluate(([base, token, partSize]) => uploadChosenFile(base, token, partSize), [
    s.base,
    s.token,
    5 * MiB,
  ] as const);
  expect(result.status).toBe(201);
  expect(result.etag).toBe('W/"1"');
  expect(result.location).toMatch(new RegExp(`^${s.base}/Binary/[^/]+/_history/1$`));
  // Three parts went straight to S3, and the browser could read their ETags.
  expect(result.partEtags).toHaveLength(3);
  for (const e of result.partEtags) expect(e).toMatch(/^"[0-9a-f-]+"$/);

  const read = await fetch(result.location!.replace(/\/_history\/1$/, ''), {
    headers: { authorization: `Bearer ${s.token}` },
  });
  expect(read.status).toBe(200);
  expect(read.headers.get('content-type')).toBe('image/png');
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  expect(sha(Buffer.from(await read.arrayBuffer()))).toBe(sha(bytes));
});

declare function uploadChosenFile(
  base: string,
  token: string,
  partSize: number,
): Promise<{ status: number; location: string | null; etag: string | null; partEtags: (string | null)[] }>;
