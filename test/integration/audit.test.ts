import { logger } from '../../functions/logger';
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
    await fetch(`${s.base}/Binary/x`, { method: 'DELETE' }); // no token: the authorizer answers, no function runs
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      operation: 'read',
      status: 404,
      resourceId: 'missing-one',
      cdata: { case: 42 },
    });
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
