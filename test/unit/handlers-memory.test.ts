import type { Context } from 'aws-lambda';
import { memoryPorts } from '../../functions/adapters/memory';
import { loadConfig } from '../../functions/config';
import { handler as create } from '../../functions/handlers/create';
import { handler as read } from '../../functions/handlers/read';
import type { HttpEvent, HttpResult } from '../../functions/http/event';
import { overrideWiring, resetWiring } from '../../functions/wiring';

/**
 * The Lambda handlers with the composition root's ports replaced by the in-memory adapters: the
 * whole request path (event, auth, core, result) in process, without any emulator. What only AWS
 * (or moto) can show stays in test/integration.
 */
const ports = memoryPorts();
beforeAll(() => {
  overrideWiring({ appConfig: loadConfig({ TABLE_NAME: 'unused', BUCKET_NAME: 'unused' }), ...ports });
});
afterAll(() => resetWiring());

const org = 'acme';
function event(
  method: string,
  path: string,
  o: { id?: string; body?: string; headers?: Record<string, string> },
) {
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'api.example.com', ...o.headers },
    pathParameters: { organizationId: org, ...(o.id ? { id: o.id } : {}) },
    body: o.body === undefined ? undefined : Buffer.from(o.body).toString('base64'),
    isBase64Encoded: true,
    requestContext: {
      domainName: 'api.example.com',
      http: { method, path },
      authorizer: {
        jwt: { claims: { sub: 'u1', organizations: org, scope: 'system/Binary.*' }, scopes: [] },
      },
    },
  } as unknown as HttpEvent;
}
const ctx = { awsRequestId: 'r1' } as Context;
const call = async (h: typeof create, e: HttpEvent) => (await h(e, ctx)) as Exclude<HttpResult, string>;

test('C10/C14: a raw create and its read go through the handlers against the in-memory ports', async () => {
  const created = await call(
    create,
    event('POST', `/organizations/${org}/fhir/4/Binary`, {
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    }),
  );
  expect(created.statusCode).toBe(201);
  const id = /\/Binary\/([^/]+)\/_history\/1$/.exec(
    String(created.headers?.Location ?? created.headers?.location),
  )![1]!;
  expect([...ports.repo.heads.values()].map((h) => h.id)).toEqual([id]);
  expect(ports.repo.intents.size).toBe(0); // the commit consumed its intent

  const got = await call(read, event('GET', `/organizations/${org}/fhir/4/Binary/${id}`, { id }));
  expect(got.statusCode).toBe(200);
  expect(Buffer.from(got.body ?? '', got.isBase64Encoded ? 'base64' : 'utf8').toString()).toBe('hello');
  expect(got.headers?.['Content-Type'] ?? got.headers?.['content-type']).toMatch(/^text\/plain/);
});

test('C2: the same handlers refuse a token without the tenant before touching a port', async () => {
  const e = event('GET', `/organizations/other/fhir/4/Binary/x`, { id: 'x' });
  (e.pathParameters as Record<string, string>).organizationId = 'other';
  const res = await call(read, e);
  expect(res.statusCode).toBe(403);
});
