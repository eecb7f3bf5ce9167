import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { GATEWAY_PAYLOAD_BYTES, MAX_DIRECT_BODY_BYTES } from '../functions/limits';
import { operations } from '../functions/routes';

/**
 * The end-to-end suite (#9 item 3, #14 item 10): every route and interaction of the README and
 * docs/API.md, through HTTP only, against any FHIR base. The same checks run
 * - in `npm test` against a real `npm start` child process (test/integration/e2e.test.ts), and
 * - after a deploy against the deployed API (`npm run -s smoke -- --base URL --token T`).
 * Each check asserts the status and, where the contract gives one, the OperationOutcome (C7) or
 * the gateway's own `{"message"}` (C40). Checks run in order and share what they created; each
 * cleans up after itself where the contract lets it (a deleted Binary keeps its history).
 */

export interface E2eTarget {
  /** The FHIR base: `…/organizations/{organizationId}/fhir/4`. */
  base: string;
  /** A token for the base's organization (and only it) with `system/Binary.*`. */
  token: string;
  /** A token for the same organization with `system/Binary.read` only; without it, checks that need it are skipped. */
  readToken?: string;
}

export interface E2eCheck {
  name: string;
  /** Contract rules (docs/API.md) the check holds the service to. */
  rules: string[];
  /** Operations of functions/routes.ts it calls (`fallback`: the `$default` route). */
  covers: string[];
  /** What the target must give for it to run. */
  needs?: 'readToken';
  run(t: E2eTarget): Promise<void>;
}

type Init = Omit<RequestInit, 'body' | 'headers'> & {
  body?: BodyInit | Uint8Array | null;
  headers?: Record<string, string>;
  /** The bearer token; `null` sends none. Default: the target's token. */
  token?: string | null;
};

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const KiB = 1024;
const MiB = KiB * KiB;

/** Why a check failed, with the answer that made it fail. */
async function answerText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  return `${res.status} ${res.headers.get('content-type') ?? ''} ${text.slice(0, 300)}`;
}

/**
 * A JSON body parsed by this module's own JSON, not the fetch implementation's: under jest the two
 * are different realms, and node:assert's deep equality compares prototypes.
 */
const parsed = async (res: Response): Promise<unknown> => JSON.parse(await res.text());

export async function expectStatus(res: Response, status: number, what = ''): Promise<void> {
  if (res.status !== status)
    assert.fail(`${what ? `${what}: ` : ''}expected ${status}, got ${await answerText(res)}`);
}

interface Outcome {
  resourceType: string;
  issue: { severity: string; code: string; diagnostics: string }[];
}

/** C7: the status, an OperationOutcome as FHIR JSON, and its first issue's code. */
export async function expectOutcome(
  res: Response,
  status: number,
  code: string | string[],
  what = '',
): Promise<Outcome> {
  const text = await res.text();
  const at = `${what ? `${what}: ` : ''}${res.status} ${text.slice(0, 300)}`;
  assert.equal(res.status, status, at);
  assert.equal(res.headers.get('content-type'), FHIR_JSON, at);
  const oo = JSON.parse(text) as Outcome;
  assert.equal(oo.resourceType, 'OperationOutcome', at);
  assert.ok([code].flat().includes(oo.issue[0]!.code), `issue code ${oo.issue[0]!.code}: ${at}`);
  assert.equal(typeof oo.issue[0]!.diagnostics, 'string', at);
  assert.ok(oo.issue[0]!.diagnostics.length > 0, at);
  return oo;
}

/** C40: what API Gateway answers itself: `{"message": …}` as application/json. */
export async function expectGateway(
  res: Response,
  status: number,
  message: string,
  what = '',
): Promise<void> {
  const text = await res.text();
  assert.deepEqual(
    { status: res.status, type: res.headers.get('content-type'), body: text },
    { status, type: 'application/json', body: JSON.stringify({ message }) },
    what,
  );
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('base64');
const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
const idOf = (location: string | null) => {
  const m = /\/Binary\/([^/]+)\/_history\/(\d+)$/.exec(location ?? '');
  assert.ok(m, `Location ${location} is not …/Binary/{id}/_history/{vid}`);
  return m[1]!;
};

/** A FHIR JSON Binary of exactly `size` bytes: data, then spaces to fill up. */
export function fhirBodyOfSize(size: number): string {
  const head = '{"resourceType":"Binary","contentType":"application/octet-stream","data":"';
  const dataChars = Math.floor((size - head.length - 2) / 4) * 4;
  const data = Buffer.alloc((dataChars / 4) * 3, 7).toString('base64');
  const body = `${head}${data}"${' '.repeat(size - head.length - data.length - 2)}}`;
  assert.equal(body.length, size);
  return body;
}

/**
 * Sends a large body with node:http as careful clients do (`Expect: 100-continue`): the body goes
 * only after the server's go-ahead (or after a second without any answer, RFC 9110 §10.1.1), so a
 * server that refuses it from its Content-Length answers before any of it is sent (C40).
 */
function sendLarge(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; type: string | undefined; body: string }> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let answered = false;
    let sent = false;
    const req = send(
      u,
      { method, headers: { ...headers, 'content-length': String(body.length), expect: '100-continue' } },
      (res) => {
        answered = true;
        clearTimeout(wait);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: text }),
        );
        res.on('error', reject);
      },
    );
    const sendBody = () => {
      if (sent || answered) return;
      sent = true;
      req.end(body);
    };
    const wait = setTimeout(sendBody, 1000);
    req.on('continue', sendBody);
    req.on('error', (e) => {
      clearTimeout(wait);
      if (!answered) reject(e);
    });
    req.flushHeaders();
  });
}

interface ExportManifest {
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: unknown[];
}

/** The suite: a fresh list of checks with their own shared state (one list per run). */
export function e2eSuite(): E2eCheck[] {
  let T: E2eTarget;
  const call = (path: string, init: Init = {}) => {
    const { token = T.token, headers = {}, body, ...rest } = init;
    return fetch(path.startsWith('http') ? path : `${T.base}${path}`, {
      redirect: 'manual',
      ...rest,
      body: body as BodyInit | null | undefined,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
    });
  };
  /** The same base for another organization (the token does not name it). */
  const otherOrgBase = () =>
    T.base.replace(/\/organizations\/[^/]+\/fhir\/4$/, '/organizations/e2e-other-org/fhir/4');
  const origin = () => new URL(T.base).origin;
  const json = async <R = Record<string, unknown>>(res: Response, status: number, what = ''): Promise<R> => {
    const text = await res.text();
    assert.equal(res.status, status, `${what} ${text.slice(0, 300)}`);
    assert.match(
      res.headers.get('content-type') ?? '',
      /^application\/fhir\+json; charset=utf-8(; fhirVersion=4\.0)?$/,
      what,
    );
    return JSON.parse(text) as R;
  };
  const need = <V>(v: V | undefined, what: string): V => {
    if (v === undefined) assert.fail(`${what} is missing: an earlier check failed`);
    return v;
  };

  /** C9: HEAD answers GET's status and headers (Content-Length included) without a body. */
  const expectHeadLikeGet = async (url: string, got?: Response) => {
    const get = got ?? (await call(url));
    const length = get.headers.get('content-length');
    const body = got ? undefined : await get.arrayBuffer();
    const head = await call(url, { method: 'HEAD' });
    assert.equal(head.status, get.status, `HEAD ${url}`);
    assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), `HEAD ${url}`);
    assert.equal(head.headers.get('content-length'), length ?? String(body?.byteLength), `HEAD ${url}`);
    assert.equal(await head.text(), '');
  };
  /** Polls an export's status URL (C35) until it answers the manifest. */
  const exportManifest = async (status: string): Promise<ExportManifest> => {
    assert.ok(status.startsWith(`${T.base}/Binary/$export/`), `Content-Location ${status}`);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const res = await call(status);
      if (res.status === 202) {
        assert.ok(res.headers.get('x-progress') !== null, 'X-Progress');
        await res.body?.cancel();
        assert.ok(Date.now() < deadline, 'the export did not finish within 90 s');
        const wait = Math.min(1000, Number(res.headers.get('retry-after') ?? 1) * 1000);
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      if (res.status !== 200) assert.fail(`status: ${await answerText(res)}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.ok(res.headers.get('expires'));
      return (await parsed(res)) as ExportManifest;
    }
  };

  // What the checks create and share, in the order they do.
  const run = randomUUID().slice(0, 8);
  const raw = {
    bytes: Buffer.from(`%PDF-1.4\n% e2e ${run}\n`),
    type: 'application/pdf',
    id: undefined as string | undefined,
  };
  let since: string | undefined; // meta.lastUpdated of the suite's first write (the server's clock)
  let fhirId: string | undefined;
  let jsonId: string | undefined; // a Binary whose own contentType is JSON
  const doc = `e2e-doc-${run}`; // update → patch → delete, by a client-chosen id
  const created: string[] = []; // deleted at the end
  let large: { id: string; bytes: Buffer } | undefined;

  const checks: E2eCheck[] = [
    {
      name: 'metadata: the CapabilityStatement without a token, with ETag and 304',
      rules: ['C27', 'C9', 'C13'],
      covers: ['metadata'],
      async run() {
        const res = await call('/metadata', { token: null });
        const text = await res.text();
        assert.equal(res.status, 200, text.slice(0, 300));
        assert.equal(res.headers.get('content-type'), `${FHIR_JSON}; fhirVersion=4.0`);
        const cs = JSON.parse(text);
        assert.equal(cs.resourceType, 'CapabilityStatement');
        assert.equal(cs.fhirVersion, '4.0.1');
        assert.deepEqual(cs.patchFormat, ['application/json-patch+json']);
        const binary = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Binary');
        const declared = (kind: 'interaction' | 'operation') =>
          [
            ...new Set(
              operations.flatMap((o) => {
                const c = o.capability as Record<string, string> | undefined;
                return c?.[kind] ? [c[kind]] : [];
              }),
            ),
          ].sort();
        assert.deepEqual(
          binary.interaction.map((i: { code: string }) => i.code).sort(),
          declared('interaction'),
        );
        assert.deepEqual(binary.operation.map((o: { name: string }) => o.name).sort(), declared('operation'));
        assert.equal(binary.conditionalCreate, true);
        assert.equal(binary.updateCreate, true);
        assert.match(JSON.stringify(cs), /4,456,448|4456448/, 'the direct-write limit is stated');
        const etag = res.headers.get('etag');
        assert.ok(etag);
        const again = await call('/metadata', { token: null, headers: { 'if-none-match': etag } });
        assert.equal(again.status, 304);
        assert.equal(await again.text(), '');
        const head = await call('/metadata', { token: null, method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(text)));
        assert.equal(await head.text(), '');
      },
    },
    {
      name: 'definitions and SMART configuration: every linked definition resolves without a token',
      rules: ['C27'],
      covers: ['operation-definition', 'search-parameter', 'smart-configuration'],
      async run() {
        const cs = await json<{ rest: { resource: { operation: { definition: string }[] }[] }[] }>(
          await call('/metadata', { token: null }),
          200,
        );
        const defs = cs.rest[0]!.resource[0]!.operation.map((o) => o.definition);
        assert.ok(defs.includes(`${T.base}/OperationDefinition/Binary-upload`), defs.join());
        for (const url of new Set(defs)) {
          const od = await json<{ resourceType: string; url: string }>(
            await call(url, { token: null }),
            200,
            url,
          );
          assert.equal(od.resourceType, 'OperationDefinition');
        }
        const sp = await json<{ resourceType: string; code: string }>(
          await call('/SearchParameter/Binary-language', { token: null }),
          200,
        );
        assert.equal(sp.resourceType, 'SearchParameter');
        await expectOutcome(
          await call('/OperationDefinition/Binary-nothing', { token: null }),
          404,
          'not-found',
        );
        const smart = await call('/.well-known/smart-configuration', { token: null });
        assert.equal(smart.status, 200);
        const conf = (await parsed(smart)) as Record<string, string[]>;
        assert.ok(conf.grant_types_supported!.includes('client_credentials'));
        assert.ok(conf.scopes_supported!.includes('system/Binary.read'));
        assert.ok(Array.isArray(conf.capabilities));
      },
    },
    {
      name: 'create FHIR JSON: 201 with the resource; Prefer return=minimal and return=OperationOutcome',
      rules: ['C10', 'C11', 'C8', 'C5'],
      covers: ['create'],
      async run() {
        const body = JSON.stringify({
          resourceType: 'Binary',
          id: 'ignored',
          contentType: 'text/plain',
          securityContext: { reference: 'Patient/e2e' },
          data: b64('hello'),
        });
        const headers = { 'content-type': 'application/fhir+json' };
        const res = await call('/Binary', { method: 'POST', headers, body });
        const b = await json<{ id: string; meta: { versionId: string; lastUpdated: string }; data: string }>(
          res,
          201,
        );
        fhirId = idOf(res.headers.get('location'));
        created.push(fhirId);
        assert.equal(res.headers.get('location'), `${T.base}/Binary/${fhirId}/_history/1`);
        assert.notEqual(fhirId, 'ignored');
        assert.equal(b.id, fhirId);
        assert.equal(b.meta.versionId, '1');
        assert.equal(res.headers.get('etag'), 'W/"1"');
        assert.equal(
          new Date(res.headers.get('last-modified')!).getTime(),
          Math.floor(Date.parse(b.meta.lastUpdated) / 1000) * 1000,
        );
        assert.equal(b.data, b64('hello'));
        since = b.meta.lastUpdated;
        const minimal = await call('/Binary', {
          method: 'POST',
          headers: { ...headers, prefer: 'return=minimal' },
          body,
        });
        assert.equal(minimal.status, 201);
        assert.equal(await minimal.text(), '');
        created.push(idOf(minimal.headers.get('location')));
        const oo = await call('/Binary', {
          method: 'POST',
          headers: { ...headers, prefer: 'return=OperationOutcome' },
          body,
        });
        assert.equal((await json<Outcome>(oo, 201)).resourceType, 'OperationOutcome');
        created.push(idOf(oo.headers.get('location')));
      },
    },
    {
      name: 'create raw: 201 with Location, ETag, Last-Modified and no body, whatever Prefer says',
      rules: ['C10', 'C11', 'C12'],
      covers: ['create'],
      async run() {
        const res = await call('/Binary', {
          method: 'POST',
          headers: {
            'content-type': raw.type,
            'x-security-context': 'Patient/123',
            prefer: 'return=representation',
          },
          body: raw.bytes,
        });
        await expectStatus(res, 201);
        assert.equal(await res.text(), '');
        raw.id = idOf(res.headers.get('location'));
        created.push(raw.id);
        assert.equal(res.headers.get('location'), `${T.base}/Binary/${raw.id}/_history/1`);
        assert.equal(res.headers.get('etag'), 'W/"1"');
        assert.ok(res.headers.get('last-modified'));
        const j = await call('/Binary', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"a":1}',
        });
        await expectStatus(j, 201);
        jsonId = idOf(j.headers.get('location'));
        created.push(jsonId);
      },
    },
    {
      name: 'read raw: the same bytes with the stored type and the safety headers; HEAD the same without body',
      rules: ['C14', 'C16', 'C9', 'C18'],
      covers: ['read'],
      async run() {
        const id = need(raw.id, 'the raw Binary');
        const res = await call(`/Binary/${id}`);
        await expectStatus(res, 200);
        const headers: Record<string, string> = {};
        res.headers.forEach((v, k) => {
          headers[k] = v;
        });
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), raw.bytes);
        assert.equal(headers['content-type'], raw.type);
        assert.equal(headers['content-length'], String(raw.bytes.length));
        assert.equal(headers.etag, 'W/"1"');
        assert.equal(headers['x-security-context'], 'Patient/123');
        assert.match(headers['content-disposition'] ?? '', /^attachment/);
        assert.equal(headers['x-content-type-options'], 'nosniff');
        assert.equal(headers['content-security-policy'], 'sandbox');
        assert.equal(headers['accept-ranges'], 'bytes');
        assert.match(headers.vary ?? '', /Accept/);
        const head = await call(`/Binary/${id}`, { method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(raw.bytes.length));
        assert.equal(head.headers.get('etag'), 'W/"1"');
        assert.equal(await head.text(), '');
        const star = await call(`/Binary/${id}`, { headers: { accept: '*/*' } });
        assert.equal(star.headers.get('content-type'), raw.type);
        await star.body?.cancel();
      },
    },
    {
      name: 'read FHIR JSON: by Accept, by _format, by Accept application/json (raw for a JSON-typed Binary)',
      rules: ['C16', 'C4'],
      covers: ['read'],
      async run() {
        const id = need(raw.id, 'the raw Binary');
        for (const [what, path, accept] of [
          ['Accept fhir+json', `/Binary/${id}`, 'application/fhir+json'],
          ['_format=json', `/Binary/${id}?_format=json`, undefined],
          [
            '_format=application/fhir+json',
            `/Binary/${id}?_format=${encodeURIComponent('application/fhir+json')}`,
            undefined,
          ],
          ['Accept json', `/Binary/${id}`, 'application/json'],
          ['Accept json+fhir', `/Binary/${id}`, 'application/json+fhir'],
        ] as const) {
          const r = await json<{
            resourceType: string;
            id: string;
            contentType: string;
            data: string;
            securityContext: { reference: string };
          }>(await call(path, accept ? { headers: { accept } } : {}), 200, what);
          assert.equal(r.resourceType, 'Binary', what);
          assert.equal(r.id, id, what);
          assert.equal(r.contentType, raw.type, what);
          assert.equal(r.data, b64(raw.bytes), what);
          assert.equal(r.securityContext.reference, 'Patient/123', what);
        }
        const j = await call(`/Binary/${need(jsonId, 'the JSON Binary')}`, {
          headers: { accept: 'application/json' },
        });
        assert.equal(j.status, 200);
        assert.equal(j.headers.get('content-type'), 'application/json');
        assert.equal(await j.text(), '{"a":1}');
      },
    },
    {
      name: 'conditional read: If-None-Match and If-Modified-Since → 304 without a body',
      rules: ['C17', 'C16'],
      covers: ['read'],
      async run() {
        const id = need(raw.id, 'the raw Binary');
        const first = await call(`/Binary/${id}`);
        await first.body?.cancel();
        for (const headers of [
          { 'if-none-match': 'W/"1"' } as Record<string, string>,
          { 'if-modified-since': first.headers.get('last-modified')! },
        ]) {
          const res = await call(`/Binary/${id}`, { headers });
          assert.equal(res.status, 304, JSON.stringify(headers));
          assert.equal(await res.text(), '');
          assert.equal(res.headers.get('etag'), 'W/"1"');
          assert.match(res.headers.get('vary') ?? '', /Accept/);
        }
        const stale = await call(`/Binary/${id}`, { headers: { 'if-none-match': 'W/"0"' } });
        assert.equal(stale.status, 200);
        await stale.body?.cancel();
      },
    },
    {
      name: 'Range: 206 with Content-Range for bytes=a-b and bytes=-n; 416 with bytes */size',
      rules: ['C18', 'C7'],
      covers: ['read', 'vread'],
      async run() {
        const id = need(raw.id, 'the raw Binary');
        const size = raw.bytes.length;
        const part = await call(`/Binary/${id}/_history/1`, { headers: { range: 'bytes=0-7' } });
        assert.equal(part.status, 206);
        assert.equal(part.headers.get('content-range'), `bytes 0-7/${size}`);
        assert.deepEqual(Buffer.from(await part.arrayBuffer()), raw.bytes.subarray(0, 8));
        const tail = await call(`/Binary/${id}`, { headers: { range: 'bytes=-3' } });
        assert.equal(tail.status, 206);
        assert.equal(tail.headers.get('content-range'), `bytes ${size - 3}-${size - 1}/${size}`);
        assert.deepEqual(Buffer.from(await tail.arrayBuffer()), raw.bytes.subarray(size - 3));
        const past = await call(`/Binary/${id}`, { headers: { range: `bytes=${size + 10}-` } });
        assert.equal(past.headers.get('content-range'), `bytes */${size}`);
        await expectOutcome(past, 416, 'value');
      },
    },
    {
      name: 'vread: a version → 200; a version that does not exist → 404; an id that never existed → 404',
      rules: ['C15', 'C14', 'C7'],
      covers: ['vread', 'read'],
      async run() {
        const id = need(raw.id, 'the raw Binary');
        const res = await call(`/Binary/${id}/_history/1`);
        assert.equal(res.status, 200);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), raw.bytes);
        assert.equal(res.headers.get('etag'), 'W/"1"');
        await expectOutcome(await call(`/Binary/${id}/_history/99`), 404, 'not-found');
        await expectOutcome(await call(`/Binary/never-${run}`), 404, 'not-found');
        await expectOutcome(await call(`/Binary/never-${run}/_history/1`), 404, 'not-found');
      },
    },
    {
      name: 'update: PUT a new id → 201; If-Match current → 200; stale If-Match → 412; FHIR body with another id → 400',
      rules: ['C20', 'C21', 'C12', 'C7'],
      covers: ['update'],
      async run() {
        const text = { 'content-type': 'text/plain' };
        const first = await call(`/Binary/${doc}`, { method: 'PUT', headers: text, body: 'first version' });
        await expectStatus(first, 201);
        assert.equal(first.headers.get('location'), `${T.base}/Binary/${doc}/_history/1`);
        const second = await call(`/Binary/${doc}`, {
          method: 'PUT',
          headers: { ...text, 'if-match': 'W/"1"' },
          body: 'second version',
        });
        await expectStatus(second, 200);
        assert.equal(second.headers.get('etag'), 'W/"2"');
        const stale = await call(`/Binary/${doc}`, {
          method: 'PUT',
          headers: { ...text, 'if-match': 'W/"1"' },
          body: 'stale',
        });
        await expectOutcome(stale, 412, 'conflict');
        const wrongId = await call(`/Binary/${doc}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Binary', id: 'another', contentType: 'text/plain' }),
        });
        await expectOutcome(wrongId, 400, ['invalid', 'value']);
        const read = await call(`/Binary/${doc}`);
        assert.equal(await read.text(), 'second version');
        assert.equal(read.headers.get('etag'), 'W/"2"');
      },
    },
    {
      name: 'patch: a JSON Patch → 200 with the new version, bytes unchanged',
      rules: ['C22', 'C21', 'C8'],
      covers: ['patch'],
      async run() {
        const res = await call(`/Binary/${doc}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"2"' },
          body: JSON.stringify([
            { op: 'test', path: '/contentType', value: 'text/plain' },
            { op: 'replace', path: '/contentType', value: 'text/markdown' },
          ]),
        });
        const b = await json<{ contentType: string; meta: { versionId: string }; data: string }>(
          res,
          200,
          'PATCH',
        );
        assert.equal(b.contentType, 'text/markdown');
        assert.equal(b.meta.versionId, '3');
        assert.equal(b.data, b64('second version'));
        assert.equal(res.headers.get('etag'), 'W/"3"');
        const read = await call(`/Binary/${doc}`);
        assert.equal(read.headers.get('content-type'), 'text/markdown');
        assert.equal(await read.text(), 'second version');
        const data = await call(`/Binary/${doc}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json-patch+json', prefer: 'return=minimal' },
          body: JSON.stringify([{ op: 'replace', path: '/data', value: b64('# patched') }]),
        });
        assert.equal(data.status, 200);
        assert.equal(await data.text(), '');
        assert.equal(data.headers.get('etag'), 'W/"4"');
        assert.equal(await (await call(`/Binary/${doc}`)).text(), '# patched');
        const empty = await call(`/Binary/${doc}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json-patch+json' },
          body: '[]',
        });
        assert.equal(empty.status, 200);
        assert.equal(empty.headers.get('etag'), 'W/"4"', 'an empty patch writes nothing');
        await empty.body?.cancel();
      },
    },
    {
      name: 'patch errors: 415 media type, 400 malformed, 400 __proto__, 422 failing test, 412 stale, 404 unknown id',
      rules: ['C22', 'C21', 'C7'],
      covers: ['patch'],
      async run() {
        const patch = (body: string, headers: Record<string, string> = {}, id = doc) =>
          call(`/Binary/${id}`, {
            method: 'PATCH',
            headers: { 'content-type': 'application/json-patch+json', ...headers },
            body,
          });
        const replace = JSON.stringify([{ op: 'replace', path: '/contentType', value: 'text/plain' }]);
        await expectOutcome(
          await patch(replace, { 'content-type': 'application/json' }),
          415,
          'not-supported',
        );
        await expectOutcome(await patch('[{"op":'), 400, ['invalid', 'structure']);
        await expectOutcome(
          await patch(JSON.stringify([{ op: 'add', path: '/__proto__/x', value: 1 }])),
          400,
          ['invalid', 'structure', 'value'],
        );
        await expectOutcome(
          await patch(JSON.stringify([{ op: 'test', path: '/contentType', value: 'image/png' }])),
          422,
          ['business-rule', 'processing'],
        );
        await expectOutcome(await patch(replace, { 'if-match': 'W/"1"' }), 412, 'conflict');
        await expectOutcome(await patch(replace, {}, `never-${run}`), 404, 'not-found');
        const read = await call(`/Binary/${doc}`);
        assert.equal(read.headers.get('etag'), 'W/"4"', 'failed patches wrote nothing');
        await read.body?.cancel();
      },
    },
    {
      name: 'delete: 204; read → 410; earlier versions stay readable; the delete version → 410; again → 204',
      rules: ['C23', 'C14', 'C15', 'C22'],
      covers: ['delete', 'read', 'vread', 'patch'],
      async run() {
        const res = await call(`/Binary/${doc}`, { method: 'DELETE' });
        assert.equal(res.status, 204);
        assert.equal(await res.text(), '');
        assert.equal(res.headers.get('etag'), 'W/"5"');
        await expectOutcome(await call(`/Binary/${doc}`), 410, 'deleted');
        const v2 = await call(`/Binary/${doc}/_history/2`);
        assert.equal(v2.status, 200);
        assert.equal(await v2.text(), 'second version');
        await expectOutcome(await call(`/Binary/${doc}/_history/5`), 410, 'deleted');
        await expectOutcome(
          await call(`/Binary/${doc}`, {
            method: 'PATCH',
            headers: { 'content-type': 'application/json-patch+json' },
            body: '[]',
          }),
          410,
          'deleted',
        );
        const again = await call(`/Binary/${doc}`, { method: 'DELETE' });
        assert.equal(again.status, 204);
        assert.equal(again.headers.get('etag'), null, 'no new version');
        const never = await call(`/Binary/never-${run}`, { method: 'DELETE' });
        assert.equal(never.status, 204);
        // update-as-create of a deleted Binary (C20): another id, so `doc` stays deleted.
        const other = `e2e-again-${run}`;
        await expectStatus(
          await call(`/Binary/${other}`, {
            method: 'PUT',
            headers: { 'content-type': 'text/plain' },
            body: 'a',
          }),
          201,
        );
        await expectStatus(await call(`/Binary/${other}`, { method: 'DELETE' }), 204);
        const back = await call(`/Binary/${other}`, {
          method: 'PUT',
          headers: { 'content-type': 'text/plain' },
          body: 'b',
        });
        await expectStatus(back, 201, 'PUT after delete');
        assert.equal(back.headers.get('location'), `${T.base}/Binary/${other}/_history/3`);
        created.push(other);
      },
    },
    {
      name: 'instance history: every version newest first with method and status; _count pages by next',
      rules: ['C24'],
      covers: ['history-instance'],
      async run() {
        type Entry = {
          fullUrl: string;
          resource?: { meta: { versionId: string } };
          request: { method: string; url: string };
          response: { status: string; etag: string };
        };
        type Bundle = {
          type: string;
          total: number;
          entry: Entry[];
          link: { relation: string; url: string }[];
        };
        const h = await json<Bundle>(await call(`/Binary/${doc}/_history`), 200);
        assert.equal(h.type, 'history');
        assert.equal(h.total, 5);
        assert.deepEqual(
          h.entry.map((e) => [e.request.method, e.response.status, e.response.etag]),
          [
            ['DELETE', '204 No Content', 'W/"5"'],
            ['PATCH', '200 OK', 'W/"4"'],
            ['PATCH', '200 OK', 'W/"3"'],
            ['PUT', '200 OK', 'W/"2"'],
            ['PUT', '201 Created', 'W/"1"'],
          ],
        );
        assert.equal(h.entry[0]!.resource, undefined);
        assert.equal(h.entry[1]!.fullUrl, `${T.base}/Binary/${doc}`);
        const page1 = await json<Bundle>(await call(`/Binary/${doc}/_history?_count=2`), 200);
        assert.equal(page1.entry.length, 2);
        const next = page1.link.find((l) => l.relation === 'next')?.url;
        assert.ok(next, 'a next link');
        const page2 = await json<Bundle>(await call(next), 200);
        assert.deepEqual(
          page2.entry.map((e) => e.response.etag),
          ['W/"3"', 'W/"2"'],
        );
        await expectOutcome(await call(`/Binary/${doc}/_history?_count=x`), 400, ['invalid', 'value']);
      },
    },
    {
      name: 'type history: _since the first write, paged, holds every version written, newest first',
      rules: ['C24'],
      covers: ['history-type'],
      async run() {
        const from = need(since, 'the first write');
        type Entry = { fullUrl: string; response: { etag: string; lastModified: string } };
        type Bundle = { type: string; entry?: Entry[]; link: { relation: string; url: string }[] };
        let url: string | undefined = `/Binary/_history?_since=${encodeURIComponent(from)}&_count=4`;
        const seen: Entry[] = [];
        for (let pages = 0; url && pages < 100; pages++) {
          const b: Bundle = await json<Bundle>(await call(url), 200, url);
          assert.equal(b.type, 'history');
          seen.push(...(b.entry ?? []));
          url = b.link.find((l) => l.relation === 'next')?.url;
        }
        const has = (id: string, vid: number) =>
          seen.some((e) => e.fullUrl === `${T.base}/Binary/${id}` && e.response.etag === `W/"${vid}"`);
        for (let v = 1; v <= 5; v++) assert.ok(has(doc, v), `${doc} version ${v}`);
        assert.ok(has(need(raw.id, 'the raw Binary'), 1));
        const times = seen.map((e) => Date.parse(e.response.lastModified));
        assert.deepEqual(
          [...times].sort((a, b) => b - a),
          times,
          'newest first',
        );
      },
    },
    {
      name: 'search: _id with _count pages by next with total; POST _search; _lastUpdated with _sort; _summary=count; deleted never match; errors 400',
      rules: ['C25', 'C26'],
      covers: ['search'],
      async run() {
        type Bundle = {
          type: string;
          total?: number;
          entry?: { resource: { id: string; data?: string } }[];
          link: { relation: string; url: string }[];
        };
        const ids = [need(raw.id, 'raw'), need(fhirId, 'fhir'), need(jsonId, 'json')];
        const idList = [...ids, doc].join(',');
        const p1 = await json<Bundle>(await call(`/Binary?_id=${idList}&_count=2`), 200);
        assert.equal(p1.type, 'searchset');
        assert.equal(p1.total, 3, 'the deleted Binary does not match');
        assert.equal(p1.entry!.length, 2);
        const self = p1.link.find((l) => l.relation === 'self')!.url;
        assert.match(self, /_id=/);
        const next = p1.link.find((l) => l.relation === 'next')?.url;
        assert.ok(next, 'a next link');
        const p2 = await json<Bundle>(await call(next), 200);
        assert.deepEqual([...p1.entry!, ...p2.entry!].map((e) => e.resource.id).sort(), [...ids].sort());
        assert.equal(
          p2.link.find((l) => l.relation === 'next'),
          undefined,
        );
        const posted = await json<Bundle>(
          await call('/Binary/_search', {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `_id=${ids[0]},${ids[1]}`,
          }),
          200,
        );
        assert.equal(posted.total, 2);
        const from = need(since, 'the first write');
        const recent = await json<Bundle>(
          await call(
            `/Binary?_lastUpdated=ge${encodeURIComponent(from)}&_lastUpdated=lt2100-01-01&_sort=-_lastUpdated&_count=1000`,
          ),
          200,
        );
        const found = recent.entry!.map((e) => e.resource.id);
        for (const id of ids) assert.ok(found.includes(id), id);
        assert.ok(!found.includes(doc), 'deleted');
        const count = await json<Bundle>(await call(`/Binary?_id=${idList}&_summary=count`), 200);
        assert.equal(count.total, 3);
        assert.equal(count.entry, undefined);
        await expectOutcome(await call('/Binary?_count=x'), 400, ['invalid', 'value']);
        await expectOutcome(await call(`/Binary?_id:not=${ids[0]}`), 400, [
          'invalid',
          'not-supported',
          'value',
        ]);
        await expectOutcome(
          await call('/Binary?color=red', { headers: { prefer: 'handling=strict' } }),
          400,
          ['invalid', 'not-supported', 'value'],
        );
        const lax = await call('/Binary?color=red&_count=1');
        assert.equal(lax.status, 200);
        await lax.body?.cancel();
      },
    },
    {
      name: 'conditional create: no match → 201; one → 200 with its Location, nothing written; several → 412; bad criteria → 400',
      rules: ['C10'],
      covers: ['create', 'history-instance'],
      async run() {
        const id = need(raw.id, 'the raw Binary');
        const create = (criteria: string) =>
          call('/Binary', {
            method: 'POST',
            headers: { 'content-type': 'text/plain', 'if-none-exist': criteria },
            body: 'conditional',
          });
        const one = await create(`_id=${id}`);
        assert.equal(one.status, 200);
        assert.equal(one.headers.get('location'), `${T.base}/Binary/${id}/_history/1`);
        assert.equal(one.headers.get('etag'), 'W/"1"');
        await one.body?.cancel();
        const h = await json<{ total: number }>(await call(`/Binary/${id}/_history`), 200);
        assert.equal(h.total, 1, 'nothing written');
        const none = await create(`_id=cond-${run}`);
        await expectStatus(none, 201);
        created.push(idOf(none.headers.get('location')));
        await expectOutcome(await create(`_id=${id},${need(fhirId, 'fhir')}`), 412, 'conflict');
        await expectOutcome(await create('color=red'), 400, ['invalid', 'not-supported', 'value']);
      },
    },
    {
      name: 'Idempotency-Key: a retry gets the first answer (Idempotent-Replayed) and writes nothing; another request with it → 422',
      rules: ['C41'],
      covers: ['create'],
      async run() {
        const key = `e2e-${randomUUID()}`;
        const send = (body: string) =>
          call('/Binary', {
            method: 'POST',
            headers: { 'content-type': 'text/plain', 'idempotency-key': key },
            body,
          });
        const first = await send('once');
        await expectStatus(first, 201);
        const id = idOf(first.headers.get('location'));
        created.push(id);
        const retry = await send('once');
        assert.equal(retry.status, 201);
        assert.equal(retry.headers.get('idempotent-replayed'), 'true');
        assert.equal(retry.headers.get('location'), first.headers.get('location'));
        await expectOutcome(await send('other'), 422, 'business-rule');
        const h = await json<{ total: number }>(await call(`/Binary/${id}/_history`), 200);
        assert.equal(h.total, 1);
      },
    },
    {
      name: '$validate: a valid Binary → 200 information; an invalid one → 200 error; not FHIR JSON → 415; nothing stored',
      rules: ['C27', 'C11', 'C13'],
      covers: ['validate'],
      async run() {
        const validate = (body: string, type = 'application/fhir+json') =>
          call('/Binary/$validate', { method: 'POST', headers: { 'content-type': type }, body });
        const ok = await json<Outcome>(
          await validate(
            JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', data: b64('x') }),
          ),
          200,
        );
        assert.equal(ok.resourceType, 'OperationOutcome');
        assert.equal(ok.issue[0]!.severity, 'information');
        const bad = await json<Outcome>(await validate(JSON.stringify({ resourceType: 'Binary' })), 200);
        assert.equal(bad.issue[0]!.severity, 'error');
        assert.equal(bad.issue[0]!.code, 'required');
        await expectOutcome(await validate('x', 'text/plain'), 415, 'not-supported');
      },
    },
    {
      name: '$export: GET kick-off → 202; status → 202 then the manifest; download the ndjson (no deleted Binary); cancel → 202, then 404; POST kick-off with Parameters (as %24export) → the same Binaries',
      rules: ['C35'],
      covers: [
        'export-kickoff-get',
        'export-kickoff-post',
        'export-status',
        'export-download',
        'export-cancel',
      ],
      async run() {
        const from = need(since, 'the first write');
        await expectOutcome(await call('/Binary/$export'), 400, ['invalid', 'required', 'value']);
        await expectOutcome(
          await call('/Binary/$export?_type=Patient', { headers: { prefer: 'respond-async' } }),
          400,
          ['invalid', 'not-supported', 'value'],
        );
        const kick = await call(
          `/Binary/$export?_since=${encodeURIComponent(from)}&_outputFormat=application/fhir%2Bndjson`,
          {
            headers: { prefer: 'respond-async' },
          },
        );
        await expectStatus(kick, 202);
        await kick.body?.cancel();
        const status = kick.headers.get('content-location') ?? '';
        const manifest = await exportManifest(status);
        await expectHeadLikeGet(status);
        assert.equal(manifest.requiresAccessToken, true);
        assert.deepEqual(manifest.error, []);
        const lines: { resourceType: string; id: string; meta: { versionId: string } }[] = [];
        for (const out of manifest.output) {
          assert.equal(out.type, 'Binary');
          let res = await call(out.url);
          const head = await call(out.url, { method: 'HEAD' });
          assert.equal(head.status, res.status, `HEAD ${out.url}`);
          assert.equal(await head.text(), '');
          if (res.status === 307) res = await call(res.headers.get('location')!, { token: null });
          else assert.equal(head.headers.get('content-length'), res.headers.get('content-length'));
          assert.equal(res.status, 200, out.url);
          assert.match(res.headers.get('content-type') ?? '', /ndjson/);
          const text = await res.text();
          const file = text
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l));
          assert.equal(file.length, out.count);
          lines.push(...file);
        }
        const ids = lines.map((l) => l.id);
        for (const id of [raw.id, fhirId, jsonId])
          assert.ok(ids.includes(need(id, 'a Binary')), `${id} exported`);
        assert.ok(!ids.includes(doc), 'a deleted Binary is never exported');
        assert.ok(lines.every((l) => l.resourceType === 'Binary' && l.meta.versionId));
        const cancel = await call(status, { method: 'DELETE' });
        assert.equal(cancel.status, 202);
        await cancel.body?.cancel();
        await expectOutcome(await call(status), 404, 'not-found');
        if (manifest.output[0]) await expectOutcome(await call(manifest.output[0].url), 404, 'not-found');
        // The POST form takes the same parameters as a Parameters resource (C35).
        const posted = await call('/Binary/%24export', {
          method: 'POST',
          headers: { prefer: 'respond-async', 'content-type': 'application/fhir+json' },
          body: JSON.stringify({
            resourceType: 'Parameters',
            parameter: [
              { name: '_since', valueInstant: from },
              { name: '_type', valueString: 'Binary' },
            ],
          }),
        });
        await expectStatus(posted, 202, 'POST kick-off');
        await posted.body?.cancel();
        const second = await exportManifest(posted.headers.get('content-location') ?? '');
        const count = (m: ExportManifest) => m.output.reduce((n, o) => n + o.count, 0);
        assert.equal(count(second), count(manifest), 'the POST form honours _since as the GET form does');
        const gone = await call(posted.headers.get('content-location') ?? '', { method: 'DELETE' });
        assert.equal(gone.status, 202);
        await gone.body?.cancel();
      },
    },
    {
      name: '$upload round trip above the inline limit: start → PUT the part → status → complete (twice) → read answers 307 to the same bytes',
      rules: ['C28', 'C29', 'C30', 'C19', 'C31', 'C16'],
      covers: ['upload-start', 'upload-status', 'upload-complete', 'upload-abort', 'read'],
      async run() {
        const bytes = randomBytes(4 * MiB + 100 * KiB);
        const start = await call('/Binary/$upload', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            contentType: 'application/dicom',
            size: bytes.length,
            sha256: sha256(bytes),
          }),
        });
        const text = await start.text();
        assert.equal(start.status, 201, text.slice(0, 300));
        const u = JSON.parse(text) as {
          uploadId: string;
          id: string;
          partSize: number;
          parts: { partNumber: number; url: string }[];
          status: string;
          complete: string;
          abort: string;
        };
        assert.equal(start.headers.get('location'), u.status);
        assert.equal(u.status, `${T.base}/Binary/$upload/${u.uploadId}`);
        assert.equal(u.parts.length, Math.ceil(bytes.length / u.partSize));
        for (const p of u.parts) {
          const chunk = bytes.subarray((p.partNumber - 1) * u.partSize, p.partNumber * u.partSize);
          const put = await fetch(p.url, {
            method: 'PUT',
            headers: { 'content-type': 'application/octet-stream' },
            body: chunk as unknown as BodyInit,
          });
          if (put.status !== 200) assert.fail(`part ${p.partNumber}: ${await answerText(put)}`);
        }
        const st = await call(u.status);
        assert.equal(st.status, 200);
        await expectHeadLikeGet(u.status, st);
        const state = (await parsed(st)) as {
          state: string;
          uploaded: { partNumber: number; size: number }[];
          parts: unknown[];
        };
        assert.equal(state.state, 'uploading');
        assert.equal(
          state.uploaded.reduce((n, p) => n + p.size, 0),
          bytes.length,
        );
        assert.deepEqual(state.parts, []);
        let done = await call(u.complete, { method: 'POST' });
        for (let i = 0; done.status === 202 && i < 30; i++) {
          await done.body?.cancel();
          done = await call(u.complete, { method: 'POST' });
        }
        await expectStatus(done, 201, 'complete');
        await done.body?.cancel();
        assert.equal(done.headers.get('location'), `${T.base}/Binary/${u.id}/_history/1`);
        assert.equal(done.headers.get('etag'), 'W/"1"');
        large = { id: u.id, bytes };
        created.push(u.id);
        const repeat = await call(u.complete, { method: 'POST' });
        assert.equal(repeat.status, 201, 'repeating a completion gives the same answer');
        assert.equal(repeat.headers.get('location'), done.headers.get('location'));
        await repeat.body?.cancel();
        await expectOutcome(await call(u.abort, { method: 'DELETE' }), 409, 'conflict');
        const completed = (await parsed(await call(u.status))) as { state: string; location: string };
        assert.equal(completed.state, 'completed');
        // C19: above the inline limit a read redirects to the bytes in S3.
        const read = await call(`/Binary/${u.id}`);
        assert.equal(read.status, 307);
        assert.match(read.headers.get('vary') ?? '', /Accept/);
        await read.body?.cancel();
        const s3 = await fetch(read.headers.get('location')!);
        assert.equal(s3.status, 200);
        assert.equal(s3.headers.get('content-type'), 'application/dicom');
        assert.match(s3.headers.get('content-disposition') ?? '', /^attachment/);
        assert.equal(sha256(Buffer.from(await s3.arrayBuffer())), sha256(bytes), 'the same bytes');
        const ranged = await fetch(read.headers.get('location')!, { headers: { range: 'bytes=100-199' } });
        assert.equal(ranged.status, 206);
        assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), bytes.subarray(100, 200));
        const fhir = await json<{
          data?: string;
          _data?: { extension: { url: string; valueCode: string }[] };
        }>(await call(`/Binary/${u.id}`, { headers: { accept: 'application/fhir+json' } }), 200);
        assert.equal(fhir.data, undefined);
        assert.deepEqual(fhir._data?.extension, [
          { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unsupported' },
        ]);
      },
    },
    {
      name: '$upload as %24upload (decoded as the gateway does): a new version of an existing id with If-Match → 200',
      rules: ['C1', 'C28', 'C30', 'C21'],
      covers: ['upload-start-id', 'upload-complete', 'vread'],
      async run() {
        const { id, bytes: before } = need(large, 'the uploaded Binary');
        const bytes = randomBytes(3 * KiB);
        const start = await call(`/Binary/${id}/%24upload`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ contentType: 'application/dicom', size: bytes.length }),
        });
        const text = await start.text();
        assert.equal(start.status, 201, text.slice(0, 300));
        const u = JSON.parse(text) as { id: string; parts: { url: string }[]; complete: string };
        assert.equal(u.id, id);
        assert.equal(u.parts.length, 1);
        const put = await fetch(u.parts[0]!.url, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream' },
          body: bytes as unknown as BodyInit,
        });
        assert.equal(put.status, 200);
        const done = await call(u.complete.replace('/$upload/', '/%24upload/'), {
          method: 'POST',
          headers: { 'if-match': 'W/"1"' },
        });
        await expectStatus(done, 200, 'complete');
        await done.body?.cancel();
        assert.equal(done.headers.get('etag'), 'W/"2"');
        const read = await call(`/Binary/${id}`);
        assert.equal(read.status, 200);
        assert.deepEqual(Buffer.from(await read.arrayBuffer()), bytes);
        const v1 = await call(`/Binary/${id}/_history/1`);
        assert.equal(v1.status, 307);
        await v1.body?.cancel();
        const s3 = await fetch(v1.headers.get('location')!);
        assert.equal(sha256(Buffer.from(await s3.arrayBuffer())), sha256(before));
      },
    },
    {
      name: '$upload abort: 204, again 204, then status → 404; over 1 GiB → 413 at start; bad start → 400',
      rules: ['C28', 'C29', 'C30', 'C13'],
      covers: ['upload-start', 'upload-abort', 'upload-status'],
      async run() {
        const startBody = (body: unknown) =>
          call('/Binary/%24upload', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        const start = await startBody({ contentType: 'text/plain', size: 10 });
        const text = await start.text();
        assert.equal(start.status, 201, text.slice(0, 300));
        const u = JSON.parse(text) as { status: string; abort: string };
        assert.equal((await call(u.abort, { method: 'DELETE' })).status, 204);
        assert.equal((await call(u.abort, { method: 'DELETE' })).status, 204);
        await expectOutcome(await call(u.status), 404, 'not-found');
        await expectOutcome(
          await startBody({ contentType: 'text/plain', size: 1024 * MiB + 1 }),
          413,
          'too-long',
        );
        await expectOutcome(await startBody({ contentType: 'text/plain' }), 400, [
          'invalid',
          'required',
          'value',
        ]);
      },
    },
    {
      name: 'write checks: data-absent marker → 422, a patch changing /id → 422, a declared sha256 that differs → 422 and nothing stored',
      rules: ['C31', 'C22', 'C30', 'C7'],
      covers: ['create', 'patch', 'upload-start', 'upload-complete'],
      async run() {
        const marker = {
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unsupported' },
          ],
        };
        await expectOutcome(
          await call('/Binary', {
            method: 'POST',
            headers: { 'content-type': 'application/fhir+json' },
            body: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain', _data: marker }),
          }),
          422,
          'business-rule',
          'a Binary read back without its data',
        );
        const id = need(fhirId, 'the FHIR Binary');
        await expectOutcome(
          await call(`/Binary/${id}`, {
            method: 'PATCH',
            headers: { 'content-type': 'application/json-patch+json' },
            body: JSON.stringify([{ op: 'replace', path: '/id', value: 'other' }]),
          }),
          422,
          ['business-rule', 'processing'],
          'a changed /id',
        );
        const bytes = randomBytes(2 * KiB);
        const start = await call('/Binary/$upload', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            contentType: 'text/plain',
            size: bytes.length,
            sha256: sha256(Buffer.from('other')),
          }),
        });
        const text = await start.text();
        assert.equal(start.status, 201, text.slice(0, 300));
        const u = JSON.parse(text) as {
          id: string;
          parts: { url: string }[];
          complete: string;
          status: string;
        };
        const put = await fetch(u.parts[0]!.url, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream' },
          body: bytes as unknown as BodyInit,
        });
        assert.equal(put.status, 200);
        await put.body?.cancel();
        await expectOutcome(
          await call(u.complete, { method: 'POST' }),
          422,
          ['business-rule', 'processing'],
          'sha256',
        );
        await expectOutcome(await call(`/Binary/${u.id}`), 404, 'not-found', 'nothing stored');
      },
    },
    {
      name: 'request details: malformed log-cdata, Idempotency-Key, _since, nesting → 400; a 64 KiB+ resource → 413; escaped text over the event limit → 413',
      rules: ['C38', 'C41', 'C24', 'C39', 'C13'],
      covers: ['create', 'history-instance'],
      async run() {
        const text = (headers: Record<string, string>, body: string | Buffer = 'x') =>
          call('/Binary', { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body });
        await expectOutcome(await text({ 'log-cdata': 'novalue' }), 400, 'value', 'log-cdata');
        await expectOutcome(
          await text({ 'log-cdata': '[1]', 'log-cdata-format': 'json' }),
          400,
          'value',
          'log-cdata json',
        );
        await expectOutcome(
          await text({ 'idempotency-key': 'a b' }),
          400,
          ['invalid', 'value'],
          'Idempotency-Key',
        );
        await expectOutcome(
          await call(`/Binary/${need(raw.id, 'raw')}/_history?_since=yesterday`),
          400,
          ['invalid', 'value'],
          '_since',
        );
        const fhir = { 'content-type': 'application/fhir+json' };
        await expectOutcome(
          await call('/Binary', {
            method: 'POST',
            headers: fhir,
            body: `${'['.repeat(65)}${']'.repeat(65)}`,
          }),
          400,
          'structure',
          'nesting',
        );
        await expectOutcome(
          await call('/Binary', {
            method: 'POST',
            headers: fhir,
            body: JSON.stringify({
              resourceType: 'Binary',
              contentType: 'text/plain',
              data: b64('x'),
              // Extensions on the data element are kept (C31), so they count.
              _data: { extension: [{ url: 'http://example.org/x', valueString: 'x'.repeat(65 * KiB) }] },
            }),
          }),
          413,
          'too-long',
          'resource without data over 64 KiB',
        );
        // 3,000,000 quotes: under the raw limit, but 6,000,000 bytes escaped in the event (C13).
        await expectOutcome(await text({}, Buffer.alloc(3_000_000, '"')), 413, 'too-long', 'escaped text');
      },
    },
    {
      name: 'HTTP details: HEAD of a Bundle and of FHIR JSON carries Content-Length; a CORS preflight → 204; PUT on /Binary/_history is an update of id _history → 400',
      rules: ['C9', 'C40', 'C6'],
      covers: ['search', 'read', 'update'],
      async run() {
        for (const path of [
          `/Binary?_id=${need(raw.id, 'raw')}`,
          `/Binary/${need(raw.id, 'raw')}?_format=json`,
        ]) {
          const get = await call(path);
          const body = Buffer.from(await get.arrayBuffer());
          assert.equal(get.status, 200, path);
          const head = await call(path, { method: 'HEAD' });
          assert.equal(head.status, 200, path);
          assert.equal(head.headers.get('content-length'), String(body.length), `HEAD ${path}`);
          assert.equal(await head.text(), '');
        }
        const preflight = await call('/Binary', {
          token: null,
          method: 'OPTIONS',
          headers: {
            origin: 'https://app.example.org',
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization,content-type',
          },
        });
        assert.equal(preflight.status, 204);
        assert.ok(preflight.headers.get('access-control-allow-origin'), 'Access-Control-Allow-Origin');
        await expectOutcome(
          await call('/Binary/_history', {
            method: 'PUT',
            headers: { 'content-type': 'text/plain' },
            body: 'x',
          }),
          400,
          ['invalid', 'value'],
        );
      },
    },
    {
      name: 'auth: no token or a bad one → 401 from the gateway; another organization → 403 forbidden',
      rules: ['C2', 'C40', 'C7'],
      covers: ['read', 'create'],
      async run() {
        const none = await call(`/Binary/${need(raw.id, 'raw')}`, { token: null });
        assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
        await expectGateway(none, 401, 'Unauthorized');
        await expectGateway(await call('/Binary', { token: 'not-a-token' }), 401, 'Unauthorized');
        const foreign = await call(`${otherOrgBase()}/Binary/${need(raw.id, 'raw')}`);
        await expectOutcome(foreign, 403, 'forbidden', 'a token that does not name the organization');
        await expectOutcome(
          await call(`${otherOrgBase()}/Binary`, {
            method: 'POST',
            headers: { 'content-type': 'text/plain' },
            body: 'x',
          }),
          403,
          'forbidden',
        );
      },
    },
    {
      name: 'auth: a read-only token reads, and a write with it → 403 from the gateway',
      rules: ['C2', 'C40'],
      covers: ['read', 'create'],
      needs: 'readToken',
      async run() {
        const read = await call(`/Binary/${need(raw.id, 'raw')}`, { token: T.readToken });
        assert.equal(read.status, 200);
        await read.body?.cancel();
        const write = await call('/Binary', {
          token: T.readToken,
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: 'x',
        });
        await expectGateway(write, 403, 'Forbidden');
      },
    },
    {
      name: 'bad input → 400: no Content-Type, FHIR JSON that does not parse, no contentType, bad base64, bad reference, bad id, bad organization',
      rules: ['C11', 'C39', 'C6', 'C1', 'C7'],
      covers: ['create', 'read'],
      async run() {
        const post = (body: string, headers: Record<string, string>) =>
          call('/Binary', { method: 'POST', headers, body });
        const fhir = { 'content-type': 'application/fhir+json' };
        const bad: [string, Response][] = [
          // A string body would get text/plain from fetch itself.
          ['no Content-Type', await call('/Binary', { method: 'POST', body: Buffer.from('x') })],
          ['not JSON', await post('{"resourceType":', fhir)],
          ['no contentType', await post('{"resourceType":"Binary"}', fhir)],
          [
            'bad base64',
            await post('{"resourceType":"Binary","contentType":"text/plain","data":"%%%"}', fhir),
          ],
          [
            'bad X-Security-Context',
            await post('x', { 'content-type': 'text/plain', 'x-security-context': 'not a reference' }),
          ],
          ['bad media type', await post('x', { 'content-type': 'not a type' })],
          ['bad id', await call('/Binary/bad!id')],
          [
            'bad organization',
            await call(`${T.base.replace(/\/organizations\/[^/]+\//, '/organizations/bad!org/')}/Binary/x`),
          ],
        ];
        for (const [what, res] of bad)
          await expectOutcome(res, 400, ['invalid', 'structure', 'value', 'required'], what);
      },
    },
    {
      name: 'media types: FHIR XML asked for → 406; another FHIR version → 406; a FHIR XML body → 415',
      rules: ['C4', 'C7'],
      covers: ['read', 'create'],
      async run() {
        const id = need(raw.id, 'raw');
        await expectOutcome(await call(`/Binary/${id}?_format=xml`), 406, 'not-supported', '_format=xml');
        await expectOutcome(
          await call(`/Binary/${id}`, { headers: { accept: 'application/fhir+xml' } }),
          406,
          'not-supported',
          'Accept fhir+xml',
        );
        await expectOutcome(
          await call(`/Binary/${id}`, { headers: { accept: 'application/fhir+json; fhirVersion=3.0' } }),
          406,
          'not-supported',
          'fhirVersion=3.0',
        );
        await expectOutcome(
          await call('/Binary', {
            method: 'POST',
            headers: { 'content-type': 'application/fhir+xml' },
            body: '<Binary xmlns="http://hl7.org/fhir"/>',
          }),
          415,
          'not-supported',
        );
      },
    },
    {
      name: 'limits: a FHIR JSON body of exactly 4,456,448 bytes → 201, one byte more → 413 naming $upload; raw over → 413; an event over 6 MB or a body over 10 MB → 413 from the gateway',
      rules: ['C13', 'C40', 'C28'],
      covers: ['create'],
      async run() {
        const fhir = { 'content-type': 'application/fhir+json' };
        const at = await call('/Binary', {
          method: 'POST',
          headers: { ...fhir, prefer: 'return=minimal' },
          body: fhirBodyOfSize(MAX_DIRECT_BODY_BYTES),
        });
        await expectStatus(at, 201, 'at the limit');
        created.push(idOf(at.headers.get('location')));
        const over = await expectOutcome(
          await call('/Binary', {
            method: 'POST',
            headers: fhir,
            body: fhirBodyOfSize(MAX_DIRECT_BODY_BYTES + 1),
          }),
          413,
          'too-long',
        );
        assert.match(over.issue[0]!.diagnostics, /\$upload/);
        await expectOutcome(
          await call('/Binary', {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream' },
            body: Buffer.alloc(MAX_DIRECT_BODY_BYTES + 1) as unknown as BodyInit,
          }),
          413,
          'too-long',
        );
        const huge = await sendLarge(
          `${T.base}/Binary`,
          'POST',
          { authorization: `Bearer ${T.token}`, 'content-type': 'application/octet-stream' },
          Buffer.alloc(GATEWAY_PAYLOAD_BYTES + 1),
        );
        assert.deepEqual(huge, {
          status: 413,
          type: 'application/json',
          body: JSON.stringify({ message: 'Request Entity Too Large' }),
        });
        // Under 10 MB but base64 in the event past Lambda's 6,291,556 bytes: the gateway's own 413.
        const long = await sendLarge(
          `${T.base}/Binary`,
          'POST',
          { authorization: `Bearer ${T.token}`, 'content-type': 'application/octet-stream' },
          Buffer.alloc(5 * MiB),
        );
        assert.deepEqual(long, {
          status: 413,
          type: 'application/json',
          body: JSON.stringify({ message: 'Request Too Long' }),
        });
      },
    },
    {
      name: 'the $default route: 404 elsewhere, 405 with Allow, OPTIONS 204 with Allow, 501 for FHIR interactions not offered',
      rules: ['C40', 'C7'],
      covers: ['fallback'],
      async run() {
        await expectOutcome(await call(`${origin()}/nope`, { token: null }), 404, 'not-found');
        await expectOutcome(await call('/Patient/1'), 404, 'not-found');
        const wrong = await call('/Binary', { method: 'DELETE' });
        assert.ok(wrong.headers.get('allow')?.includes('POST'), `Allow ${wrong.headers.get('allow')}`);
        await expectOutcome(wrong, 405, 'not-supported');
        // An operation's path with another method: 405 naming its methods, never a read of id "$upload".
        const upload = await call('/Binary/$upload');
        assert.equal(upload.headers.get('allow'), 'POST, OPTIONS');
        await expectOutcome(upload, 405, 'not-supported', 'GET [base]/Binary/$upload');
        const opts = await call(`/Binary/${need(raw.id, 'raw')}`, { method: 'OPTIONS' });
        assert.equal(opts.status, 204);
        assert.deepEqual(opts.headers.get('allow')?.split(', ').sort(), [
          'DELETE',
          'GET',
          'HEAD',
          'OPTIONS',
          'PATCH',
          'PUT',
        ]);
        for (const [method, path] of [
          ['POST', ''],
          ['GET', '/_history'],
          ['GET', '?_type=Binary'],
          ['POST', '/Binary/$meta'],
          ['GET', '/Binary/$meta'],
        ] as const) {
          await expectOutcome(
            await call(`${T.base}${path}`, {
              method,
              ...(method === 'POST'
                ? { headers: { 'content-type': 'application/fhir+json' }, body: '{}' }
                : {}),
            }),
            501,
            'not-supported',
            `${method} [base]${path}`,
          );
        }
      },
    },
    {
      name: 'clean-up: every Binary the suite created is deleted (204) and reads 410',
      rules: ['C23'],
      covers: ['delete'],
      async run() {
        assert.ok(created.length > 5, 'the suite created Binaries');
        for (const id of created) {
          const res = await call(`/Binary/${id}`, { method: 'DELETE' });
          assert.equal(res.status, 204, id);
        }
        await expectOutcome(await call(`/Binary/${created[0]}`), 410, 'deleted');
      },
    },
  ];
  return checks.map((c) => ({
    ...c,
    run: (t: E2eTarget) => {
      T = { ...t, base: t.base.replace(/\/+$/, '') };
      return c.run(T);
    },
  }));
}

export interface CheckResult {
  check: E2eCheck;
  outcome: 'pass' | 'fail' | 'skip';
  ms: number;
  /** Why it failed, or what it needs. */
  detail?: string;
}

/** Runs the checks in order against a target, reporting each as it ends. */
export async function runE2e(
  t: E2eTarget,
  onResult: (r: CheckResult) => void = () => {},
  checks: E2eCheck[] = e2eSuite(),
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const started = Date.now();
    let r: CheckResult;
    if (check.needs && !t[check.needs]) {
      r = { check, outcome: 'skip', ms: 0, detail: `needs --read-token` };
    } else {
      try {
        await check.run(t);
        r = { check, outcome: 'pass', ms: Date.now() - started };
      } catch (e) {
        const err = e as Error & { cause?: Error };
        r = {
          check,
          outcome: 'fail',
          ms: Date.now() - started,
          detail: (err.cause?.message ? `${err.message}: ${err.cause.message}` : err.message).split('\n')[0],
        };
      }
    }
    results.push(r);
    onResult(r);
  }
  return results;
}
