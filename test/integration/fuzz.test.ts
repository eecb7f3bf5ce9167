/**
 * #13: a property-based fuzz suite over every route (arbitraries in test/support/fuzz.ts), with a
 * fixed seed so a failure reproduces. Properties (C7, C39): no request gets a 5xx; every 4xx is an
 * OperationOutcome; a request that fails stores nothing (the resource it targets keeps its version;
 * at the end every stored version was answered 2xx, every S3 object belongs to a committed version
 * and no write intent is left behind, so nothing can have been notified either (C32 notifies
 * committed versions only)). FUZZ_RUNS / FUZZ_HTTP_RUNS / FUZZ_SEED override the defaults.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import fc from 'fast-check';
import { VERSION_PREFIX } from '../../functions/adapters/dynamo-schema';
import type { HttpResult } from '../../functions/http/event';
import { defaultRoute } from '../../functions/routes';
import { appDeps } from '../../functions/wiring';
import { mintToken } from '../../local/dev-auth';
import { decodePath, matchRoute } from '../../local/router';
import { sweepExpiredIntents } from '../../local/sweeper';
import { createRaw } from '../support/fhir';
import { type FuzzRequest, fuzzClaims, fuzzRequest } from '../support/fuzz';
import { isIntentItem, storedFor } from '../support/inspect';
import { startNpm } from '../support/processes';
import { startServer, type TestServer } from '../support/server';

const SEED = Number(process.env.FUZZ_SEED ?? 13);
const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const HTTP_RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 300);
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type Handler = (e: APIGatewayProxyEventV2WithJWTAuthorizer, c: Context) => Promise<HttpResult>;
const handlers = new Map<string, Handler>();
async function handlerOf(module: string): Promise<Handler> {
  let h = handlers.get(module);
  if (!h) {
    h = ((await import(`../../functions/${module}`)) as { handler: Handler }).handler;
    handlers.set(module, h);
  }
  return h;
}

const TEXTUAL = /^(text\/|application\/(json|xml|javascript)\b)/i;
const fatal = new TextDecoder('utf-8', { fatal: true });
const isUtf8 = (b: Uint8Array) => {
  try {
    fatal.decode(b);
    return true;
  } catch {
    return false;
  }
};

/** The payload v2 event API Gateway would send for `r` (bodies base64 unless textual). */
function eventFor(
  r: FuzzRequest,
  route: { method: string; path: string },
  params: Record<string, string>,
  claims: Record<string, unknown> | undefined,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const text = TEXTUAL.test(r.headers['content-type'] ?? '') && isUtf8(r.body);
  const routeKey = route.path === '$default' ? '$default' : `${route.method} ${route.path}`;
  const event = {
    version: '2.0',
    routeKey,
    // API Gateway HTTP API routes on, and hands on, the percent-decoded path.
    rawPath: decodePath(r.path),
    rawQueryString: r.query,
    headers: { ...r.headers, host: 'fuzz.example' },
    pathParameters: Object.keys(params).length > 0 ? params : undefined,
    body: r.body.length === 0 ? undefined : Buffer.from(r.body).toString(text ? 'utf8' : 'base64'),
    isBase64Encoded: r.body.length > 0 && !text,
    requestContext: {
      accountId: '000000000000',
      apiId: 'fuzz',
      domainName: 'fuzz.example',
      domainPrefix: 'fuzz',
      http: {
        method: r.method,
        path: decodePath(r.path),
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'fuzz',
      },
      requestId: 'fuzz',
      routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      ...(claims
        ? { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims, scopes: [] } } }
        : {}),
    },
  };
  return event as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
}

/** The C7 shape of an error answer: the FHIR JSON type and an OperationOutcome with an issue. */
/** C40: what API Gateway answers itself (the authorizer, its size limits) stays `{"message"}`. */
const GATEWAY_ANSWERS: Record<number, string[]> = {
  401: ['Unauthorized'],
  403: ['Forbidden'],
  413: ['Request Entity Too Large', 'Request Too Long'],
};

function checkOutcome(status: number, contentType: string | undefined, body: string, what: string): void {
  if (
    contentType === 'application/json' &&
    GATEWAY_ANSWERS[status]?.some((m) => body === JSON.stringify({ message: m }))
  )
    return;
  const oo = (() => {
    try {
      return JSON.parse(body) as {
        resourceType?: string;
        issue?: { code?: unknown; diagnostics?: unknown }[];
      };
    } catch {
      return undefined;
    }
  })();
  const ok =
    contentType?.startsWith('application/fhir+json') &&
    oo?.resourceType === 'OperationOutcome' &&
    typeof oo.issue?.[0]?.code === 'string' &&
    typeof oo.issue[0].diagnostics === 'string';
  if (!ok)
    throw new Error(`${what} → ${status} without an OperationOutcome: ${contentType} ${body.slice(0, 300)}`);
}

const describeReq = (r: FuzzRequest) =>
  `${r.method} ${r.path.slice(0, 200)}?${r.query.slice(0, 200)} ${JSON.stringify(r.headers).slice(0, 300)} body ${r.body.length} B`;

let s: TestServer;
const known: string[] = [];
beforeAll(async () => {
  s = await startServer('fuzz');
  known.push(await createRaw(s, 'hello', 'text/plain', { 'x-security-context': 'Patient/1' }));
  known.push(await createRaw(s, '{"a":1}', 'application/json'));
  const gone = await createRaw(s, 'bye', 'text/plain');
  expect((await s.fetch(`/Binary/${gone}`, { method: 'DELETE' })).status).toBe(204);
  known.push(gone);
});
afterAll(() => s.close());

test(`#13 fuzz (C7, C39): ${RUNS} random requests through the handlers in-process, no 5xx, OperationOutcome on every 4xx, nothing stored on a 4xx`, async () => {
  const { repo } = appDeps();
  const stats = { cases: 0, gateway: 0, byClass: {} as Record<string, number>, versions: 3 + 1, uploads: 0 };
  const ms: Record<string, number> = {};
  await fc.assert(
    fc.asyncProperty(fuzzRequest(s.org, known), fuzzClaims(s.org), async (r, claims) => {
      stats.cases++;
      const url = new URL(`http://fuzz.example${r.path}`);
      const found = matchRoute(r.method, decodePath(url.pathname));
      // No route: API Gateway's `$default` route and its function answer (C40).
      const match =
        found && 'route' in found
          ? { route: { ...found.route, name: found.route.operations.join('|') }, params: found.params }
          : {
              route: { ...defaultRoute, method: r.method, path: '$default' },
              params: {} as Record<string, string>,
            };
      if (match.route.name === defaultRoute.name) stats.gateway++;
      const target = match.params.id;
      const before =
        WRITES.has(r.method) && match.params.organizationId === s.org && target && known.includes(target)
          ? (await repo.current(s.org, target))?.vid
          : undefined;
      const t0 = Date.now();
      const res = await (await handlerOf(match.route.module))(
        eventFor(r, match.route, match.params, claims),
        { awsRequestId: 'fuzz', functionName: match.route.name } as Context,
      );
      const status = res.statusCode ?? 200;
      const k = `${match.route.name} ${status}`;
      ms[k] = (ms[k] ?? 0) + Date.now() - t0;
      const cls = `${Math.floor(status / 100)}xx`;
      stats.byClass[cls] = (stats.byClass[cls] ?? 0) + 1;
      const headers = (res.headers ?? {}) as Record<string, string>;
      if (status >= 500) throw new Error(`${describeReq(r)} → ${status}: ${res.body}`);
      if (status >= 400 && r.method !== 'HEAD')
        checkOutcome(
          status,
          headers['Content-Type'] ?? headers['content-type'],
          Buffer.from(res.body ?? '', res.isBase64Encoded ? 'base64' : 'utf8').toString('utf8'),
          describeReq(r),
        );
      const ours = match.params.organizationId === s.org;
      if (status >= 400 && before !== undefined)
        expect((await repo.current(s.org, target!))?.vid).toBe(before);
      if (ours && match.route.name.startsWith('upload-start') && status === 201) stats.uploads++;
      else if (
        ours &&
        status < 300 &&
        WRITES.has(r.method) &&
        headers.ETag !== undefined &&
        headers['Idempotent-Replayed'] === undefined // C41: a replay writes nothing
      )
        stats.versions++;
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  // Nothing stored on a 4xx: the table holds exactly the versions answered 2xx, every object is
  // the bytes of one of them (once the reaper ran for the intents refused writes expired, #14.8),
  // and the only intents left are those of upload sessions started.
  await sweepExpiredIntents();
  const { objects, items } = await storedFor(s.org);
  const versions = items.filter((i) => String(i.sk).startsWith(VERSION_PREFIX));
  const blobKeys = new Set(versions.map((v) => v.blobKey));
  const intents = items.filter(isIntentItem);
  console.log(
    `fuzz in-process: seed ${SEED}, ${stats.cases} cases, ${stats.gateway} to the $default route, ` +
      `${JSON.stringify(stats.byClass)}, ${versions.length} versions stored for ${stats.versions} 2xx writes, ` +
      `${objects.length} objects, ${intents.length} intents for ${stats.uploads} upload starts`,
  );
  if (process.env.FUZZ_PROFILE)
    console.log(
      Object.entries(ms)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 15),
    );
  expect(stats.cases).toBe(RUNS);
  expect(stats.byClass['5xx']).toBeUndefined();
  expect(versions.length).toBe(stats.versions);
  expect(objects.filter((o) => !blobKeys.has(o))).toEqual([]);
  expect(intents.filter((i) => i.multipartUploadId === undefined)).toEqual([]);
  expect(intents.length).toBeLessThanOrEqual(stats.uploads);
}, 300_000);

/** What API Gateway answers itself (authorizer 401/403, 413, 429): `{"message": …}` (C40). */
const gatewayShaped = (status: number, headers: Headers, text: string) =>
  [401, 403, 413, 429].includes(status) &&
  headers.get('content-type')?.startsWith('application/json') === true &&
  typeof (JSON.parse(text) as { message?: unknown }).message === 'string';

/** Header values a real HTTP client can send (no control characters, Latin-1 only). */
const sendable = (h: Record<string, string>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.replace(/[^\t\x20-\x7e\x80-\xff]/g, '')]));

test(`#13 fuzz over HTTP against npm start (C3, C7, C40): ${HTTP_RUNS} random requests with random tokens, no 5xx, an OperationOutcome (or the gateway's own message) on every 4xx`, async () => {
  const app = await startNpm();
  try {
    const { origin } = app;
    const org = 'demo';
    const good = app.token;
    const [, payload] = good.split('.');
    const tokens = [
      good,
      await mintToken({ organizations: ['other-org'] }),
      await mintToken({ organizations: [org], scope: 'system/Binary.read' }),
      await mintToken({ organizations: [org], expiresIn: '-1h' }),
      `eyJhbGciOiJub25lIn0.${payload}.`,
      `${good.slice(0, -4)}AAAA`,
      'garbage',
      '',
    ];
    const ids: string[] = [];
    for (const body of ['hello', 'world']) {
      const res = await fetch(`${origin}/organizations/${org}/fhir/4/Binary`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${good}`, 'content-type': 'text/plain' },
      });
      ids.push(/\/Binary\/([^/]+)\/_history/.exec(res.headers.get('location') ?? '')![1]!);
    }
    const byClass: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(
        fuzzRequest(org, ids),
        fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.nat({ max: tokens.length - 1 })),
        async (r, t) => {
          const headers = sendable(r.headers);
          if (tokens[t] !== '') headers.authorization = `Bearer ${tokens[t]}`;
          const res = await fetch(`${origin}${r.path}${r.query ? `?${r.query}` : ''}`, {
            method: r.method,
            headers,
            body:
              r.method === 'GET' || r.method === 'HEAD' || r.body.length === 0
                ? undefined
                : (r.body as BodyInit),
            redirect: 'manual',
          });
          const text = await res.text();
          // 501 is the contract's answer for a FHIR interaction not offered (C40): fetch resolves
          // dot segments, so `[base]/Binary/../_history` is system history here.
          const cls = res.status === 501 ? '501' : `${Math.floor(res.status / 100)}xx`;
          byClass[cls] = (byClass[cls] ?? 0) + 1;
          if (res.status >= 500 && res.status !== 501)
            throw new Error(`${describeReq(r)} → ${res.status}: ${text}`);
          if (res.status >= 400 && r.method !== 'HEAD' && !gatewayShaped(res.status, res.headers, text))
            checkOutcome(res.status, res.headers.get('content-type') ?? undefined, text, describeReq(r));
        },
      ),
      { seed: SEED, numRuns: HTTP_RUNS, endOnFailure: true },
    );
    console.log(`fuzz over HTTP (npm start): seed ${SEED}, ${HTTP_RUNS} cases, ${JSON.stringify(byClass)}`);
    expect(byClass['5xx']).toBeUndefined();
  } finally {
    await app.stop();
  }
}, 240_000);
