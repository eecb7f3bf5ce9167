import { request } from 'node:http';
import { expectGateway, expectOutcome } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('gateway');
});
afterAll(() => s.close());

describe('C40 the $default route answers what no route matches', () => {
  test('C40: a path outside the FHIR base → 404 OperationOutcome, no token needed', async () => {
    const oo = await expectOutcome(await fetch(`${s.origin}/nope`), 404, 'not-found');
    expect(oo.issue[0]!.diagnostics).toContain('/organizations/{organizationId}/fhir/4');
  });

  test('C40: a known path with another method → 405 with Allow', async () => {
    const res = await s.fetch('/Binary/abc/_history/1', { method: 'DELETE' });
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    await expectOutcome(res, 405, 'not-supported');
    const opts = await s.fetch('/Binary/abc', { method: 'OPTIONS' });
    expect(opts.status).toBe(204);
    expect(opts.headers.get('allow')?.split(', ').sort()).toEqual(
      ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'PUT'].sort(),
    );
  });

  test('C40: FHIR interactions this server does not offer → 501 not-supported (#12 item 7)', async () => {
    const cases: [string, string][] = [
      ['POST', s.base],
      ['POST', `${s.base}/`],
      ['GET', `${s.base}?_type=Binary`],
      ['GET', `${s.base}/_history`],
      ['POST', `${s.base}/Binary/$meta`], // $validate is implemented (test/integration/validate.test.ts)
      ['POST', `${s.base}/Binary/abc/$meta`],
    ];
    for (const [method, url] of cases) {
      const res = await s.fetch(url, {
        method,
        ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/fhir+json' } } : {}),
      });
      const oo = await expectOutcome(res, 501, 'not-supported');
      expect(oo.issue[0]!.diagnostics).toMatch(/not supported/);
    }
  });

  test('C40: a `$` segment where a route has {id} is the operation\'s path, not an id (found by the e2e suite: 400 "invalid id")', async () => {
    for (const [method, path, allow] of [
      ['GET', '/Binary/$upload', 'POST, OPTIONS'],
      ['DELETE', '/Binary/$upload', 'POST, OPTIONS'],
      ['PATCH', '/Binary/%24upload', 'POST, OPTIONS'],
      ['GET', '/Binary/$validate', 'POST, OPTIONS'],
      ['DELETE', '/Binary/$export', 'GET, POST, OPTIONS'],
      ['HEAD', '/Binary/$export', 'GET, POST, OPTIONS'],
    ] as const) {
      const res = await s.fetch(path, {
        method,
        ...(method === 'PATCH'
          ? { body: '[]', headers: { 'content-type': 'application/json-patch+json' } }
          : {}),
      });
      expect({ path, method, status: res.status, allow: res.headers.get('allow') }).toEqual({
        path,
        method,
        status: 405,
        allow,
      });
      if (method !== 'HEAD') await expectOutcome(res, 405, 'not-supported');
    }
    await expectOutcome(await s.fetch('/Binary/$meta'), 501, 'not-supported');
    await expectOutcome(await s.fetch('/Binary/$meta/_history/1'), 501, 'not-supported');
  });

  test('C40: another resource type → 404 naming Binary', async () => {
    const oo = await expectOutcome(await s.fetch('/Patient/1'), 404, 'not-found');
    expect(oo.issue[0]!.diagnostics).toContain('Binary');
  });

  test('C40: the route the gateway picks: method and path together, the most specific path first', async () => {
    // PUT has no route on /Binary/_history, so `PUT /Binary/{id}` takes it, as on AWS: id "_history" → 400.
    await expectOutcome(
      await s.fetch('/Binary/_history', {
        method: 'PUT',
        body: 'x',
        headers: { 'content-type': 'text/plain' },
      }),
      400,
      'value',
    );
    // GET takes the literal route: a Bundle, not a read of id "_history".
    const h = await s.fetch('/Binary/_history');
    expect(h.status).toBe(200);
    expect((await h.json()).type).toBe('history');
  });
});

describe('C40 what API Gateway answers itself stays gateway-shaped', () => {
  test('C40: the authorizer → 401 {"message":"Unauthorized"}', async () => {
    await expectGateway(await fetch(`${s.base}/Binary/x`), 401, 'Unauthorized');
  });

  test('C40: a declared body over 10 MB → 413 before it is read, and no 100 Continue (#13 item 10)', async () => {
    const url = new URL(`${s.base}/Binary`);
    const answer = await new Promise<{ status: number; body: string; continued: boolean }>(
      (resolve, reject) => {
        let continued = false;
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: {
              authorization: `Bearer ${s.token}`,
              'content-type': 'application/octet-stream',
              'content-length': String(100 * 1024 * 1024),
              expect: '100-continue',
            },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c) => {
              body += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body, continued }));
          },
        );
        req.on('continue', () => {
          continued = true;
        });
        req.on('error', reject);
        req.flushHeaders(); // headers only: not one byte of the 100 MB is sent
      },
    );
    expect(answer).toEqual({
      status: 413,
      body: JSON.stringify({ message: 'Request Entity Too Large' }),
      continued: false,
    });
  });
});

describe('#13 item 10 slow clients', () => {
  test('C40: a body that never completes is cut off (408, connection closed) after the request timeout', async () => {
    const { createLocalServer } = await import('../../local/server');
    const { connect } = await import('node:net');
    const server = createLocalServer(undefined, { requestTimeoutMs: 400 });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      const answer = await new Promise<string>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => {
          sock.write(
            `POST /organizations/${s.org}/fhir/4/Binary HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.token}\r\n` +
              'Content-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n0123456789',
          );
        });
        let got = '';
        sock.on('data', (d) => {
          got += d.toString();
        });
        sock.on('close', () => resolve(got));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
