import type { Bundle } from 'fhir/r4';
import { publicBaseUrlFrom } from '../../functions/config';
import { resetWiring } from '../../functions/wiring';
import { startServer, type TestServer } from '../support/server';

// #14 item 7 (C1): behind a custom domain with a base-path mapping, the URLs the server writes
// start with the configured public base; without one, with the request's scheme and host.
const PUBLIC = 'https://fhir.example.org/binary';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('pub');
});
afterAll(() => {
  delete process.env.PUBLIC_BASE_URL;
  resetWiring();
  return s.close();
});

const create = () =>
  s.fetch('/Binary', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });

async function pagedSearch(): Promise<Bundle> {
  const res = await s.fetch('/Binary?_count=1');
  expect(res.status).toBe(200);
  return (await res.json()) as Bundle;
}

test('C1: without PUBLIC_BASE_URL, Location and paging links use the request host', async () => {
  delete process.env.PUBLIC_BASE_URL;
  resetWiring();
  const a = await create();
  await create();
  expect(a.status).toBe(201);
  expect(a.headers.get('location')).toMatch(new RegExp(`^${s.base}/Binary/[^/]+/_history/1$`));
  const b = await pagedSearch();
  expect(b.link?.find((l) => l.relation === 'next')?.url).toMatch(new RegExp(`^${s.base}/Binary\\?`));
  expect(b.entry?.[0]?.fullUrl).toMatch(new RegExp(`^${s.base}/Binary/`));
});

test('C1: with PUBLIC_BASE_URL, Location, fullUrl and paging links use the public base', async () => {
  process.env.PUBLIC_BASE_URL = `${PUBLIC}/`;
  resetWiring();
  const publicBase = `${PUBLIC}/organizations/${s.org}/fhir/4`;
  const a = await create();
  expect(a.status).toBe(201);
  expect(a.headers.get('location')).toMatch(new RegExp(`^${publicBase}/Binary/[^/]+/_history/1$`));
  const b = await pagedSearch();
  for (const l of b.link ?? []) expect(l.url.startsWith(`${publicBase}/Binary?`)).toBe(true);
  expect(b.link?.map((l) => l.relation)).toContain('next');
  expect(b.entry?.[0]?.fullUrl?.startsWith(`${publicBase}/Binary/`)).toBe(true);
  // Following the public next link's query on this server gives the following page.
  const next = new URL(b.link!.find((l) => l.relation === 'next')!.url);
  const page2 = await s.fetch(`/Binary${next.search}`);
  expect(page2.status).toBe(200);
  const ids = [b, (await page2.json()) as Bundle].map((x) => x.entry?.[0]?.resource?.id);
  expect(new Set(ids).size).toBe(2);
});

test('PUBLIC_BASE_URL is validated at start', () => {
  expect(publicBaseUrlFrom(undefined)).toBeUndefined();
  expect(publicBaseUrlFrom('https://a.example/x/')).toBe('https://a.example/x');
  expect(publicBaseUrlFrom('https://a.example')).toBe('https://a.example');
  for (const bad of ['a.example/x', 'ftp://a.example', 'https://a.example/?q=1', 'https://u:p@a.example'])
    expect(() => publicBaseUrlFrom(bad)).toThrow(/PUBLIC_BASE_URL/);
});
