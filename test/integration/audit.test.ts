import { logger } from '../../functions/logger';
import { mintToken } from '../../local/dev-auth';
import { idFromLocation } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
const lines: Record<string, unknown>[] = [];
beforeAll(async () => {
  s = await startServer('audit');
  jest.spyOn(logger, 'info').mockImplementation((...args: unknown[]) => {
    if (args[0] === 'audit') lines.push((args[1] as { audit: Record<string, unknown> }).audit);
  });
});
afterAll(() => s.close());

describe('C38 audit line', () => {
  test('C38: one line per request with who, what, outcome, size and latency; cdata parsed, never echoed', async () => {
    lines.length = 0;
    const secret = 'top-secret-payload';
    const res = await s.fetch('/Binary', {
      method: 'POST',
      body: secret,
      headers: { 'content-type': 'text/plain', 'log-cdata': 'ticket=T-1; team=radiology' },
    });
    expect(res.status).toBe(201);
    expect(
      [...(res.headers as unknown as Map<string, string>).keys()].some((k) => k.startsWith('log-cdata')),
    ).toBe(false);
    const id = idFromLocation(res.headers.get('location'));
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({
      organizationId: s.org,
      subject: 'dev-user',
      operation: 'create',
      resourceId: id,
      versionId: '1',
      status: 201,
      bytes: secret.length,
      cdata: { ticket: 'T-1', team: 'radiology' },
    });
    expect(line.latencyMs).toEqual(expect.any(Number));
    expect(Date.parse(String(line.time))).not.toBeNaN();
    const text = JSON.stringify(line);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(s.token);
  });

  test('C38: json cdata, and failures are logged with their status', async () => {
    lines.length = 0;
    await s.fetch('/Binary/missing-one', {
      headers: { 'log-cdata': '{"case": 42}', 'log-cdata-format': 'json' },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      operation: 'read',
      status: 404,
      resourceId: 'missing-one',
      cdata: { case: 42 },
    });
  });

  test('C38/C40: requests answered before a handler runs write one line each (#13 item 8)', async () => {
    lines.length = 0;
    // No token: the authorizer answers, no function runs; the local gateway logs the line.
    expect((await fetch(`${s.base}/Binary/x`, { method: 'DELETE' })).status).toBe(401);
    expect(lines).toEqual([
      expect.objectContaining({
        organizationId: s.org,
        operation: 'delete',
        status: 401,
        answeredBy: 'gateway',
      }),
    ]);
    lines.length = 0;
    const reader = await mintToken({ organizations: [s.org], scope: 'system/Binary.read' });
    const denied = await fetch(`${s.base}/Binary`, {
      method: 'POST',
      body: 'x',
      headers: { authorization: `Bearer ${reader}`, 'content-type': 'text/plain' },
    });
    expect(denied.status).toBe(403);
    expect(lines).toEqual([
      expect.objectContaining({
        operation: 'create',
        status: 403,
        subject: 'dev-user',
        answeredBy: 'gateway',
      }),
    ]);
    // No route: the $default function answers and writes the line (C40).
    lines.length = 0;
    expect((await s.fetch('/Patient/1')).status).toBe(404);
    expect((await s.fetch('/Binary/x/_history/1', { method: 'DELETE' })).status).toBe(405);
    expect(lines).toEqual([
      expect.objectContaining({ organizationId: s.org, operation: 'fallback', status: 404 }),
      expect.objectContaining({ organizationId: s.org, operation: 'fallback', status: 405 }),
    ]);
    // Over the HTTP API's 10 MB, refused from the declared length before the body is read.
    lines.length = 0;
    const big = await s.fetch('/Binary', {
      method: 'POST',
      body: new Uint8Array(10 * 1024 * 1024 + 1),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(big.status).toBe(413);
    expect(lines).toEqual([
      expect.objectContaining({ operation: 'create', status: 413, answeredBy: 'gateway' }),
    ]);
  });

  test('C38: log-cdata over 2 KiB → 400', async () => {
    const res = await s.fetch('/Binary', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain', 'log-cdata': `k=${'v'.repeat(2100)}` },
    });
    expect(res.status).toBe(400);
  });
});
