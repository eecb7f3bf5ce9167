import { createHash } from 'node:crypto';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('crud');
});
afterAll(() => s.close());

const pdf = Buffer.concat([
  Buffer.from('%PDF-1.4\n'),
  Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256)),
]);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function createRaw(
  body: Uint8Array,
  contentType = 'application/pdf',
  extra: Record<string, string> = {},
) {
  const res = await s.fetch('/Binary', {
    method: 'POST',
    body,
    headers: { 'content-type': contentType, ...extra },
  });
  expect(res.status).toBe(201);
  const loc = res.headers.get('location')!;
  const id = /\/Binary\/([^/]+)\/_history\/1$/.exec(loc)![1]!;
  return { res, id, loc };
}

describe('C10/C11/C12/C16 raw create and read', () => {
  test('C10/C12: raw POST → 201, absolute Location, ETag, Last-Modified, empty body', async () => {
    const { res, loc } = await createRaw(pdf, 'application/pdf', {
      'x-security-context': 'Patient/123',
      prefer: 'return=representation',
    });
    expect(loc.startsWith(`${s.base}/Binary/`)).toBe(true);
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('last-modified')).toBeTruthy();
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  test('C16: GET with no Accept returns the identical bytes with the safety headers', async () => {
    const { id } = await createRaw(pdf, 'application/pdf', { 'x-security-context': 'Patient/123' });
    const res = await s.fetch(`/Binary/${id}`);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(sha(bytes)).toBe(sha(pdf));
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-length')).toBe(String(pdf.length));
    expect(res.headers.get('etag')).toBe('W/"1"');
    expect(res.headers.get('x-security-context')).toBe('Patient/123');
    expect(res.headers.get('content-disposition')).toBe('attachment');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe('sandbox');
    expect(res.headers.get('accept-ranges')).toBe('bytes');
  });

  test('C16: Accept application/fhir+json returns the Binary whose data decodes to the bytes', async () => {
    const { id } = await createRaw(pdf, 'application/pdf', { 'x-security-context': 'Patient/123' });
    const res = await s.fetch(`/Binary/${id}`, { headers: { accept: 'application/fhir+json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    const b = await res.json();
    expect(b).toMatchObject({
      resourceType: 'Binary',
      id,
      contentType: 'application/pdf',
      securityContext: { reference: 'Patient/123' },
      meta: { versionId: '1' },
    });
    expect(b.meta.lastUpdated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(new Date(res.headers.get('last-modified')!).getTime()).toBe(
      Math.floor(Date.parse(b.meta.lastUpdated) / 1000) * 1000,
    );
    expect(sha(Buffer.from(b.data, 'base64'))).toBe(sha(pdf));
  });
});
