import type { CapabilityStatement } from 'fhir/r4';
import { interactionOf, operationOf } from '../../functions/core/capabilities';
import { routes } from '../../functions/routes';
import { startServer, type TestServer } from '../support/server';

let s: TestServer;
beforeAll(async () => {
  s = await startServer('meta');
});
afterAll(() => s.close());

describe('C27 capabilities', () => {
  test('C27/C2: GET [base]/metadata needs no token and states the service', async () => {
    const res = await fetch(`${s.base}/metadata`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8; fhirVersion=4.0');
    const cs = (await res.json()) as CapabilityStatement;
    expect(cs).toMatchObject({
      resourceType: 'CapabilityStatement',
      status: 'active',
      kind: 'instance',
      fhirVersion: '4.0.1',
      format: ['json'],
      patchFormat: ['application/json-patch+json'],
      implementation: { url: s.base },
    });
    const rest = cs.rest![0]!;
    expect(rest.security?.service?.[0]?.coding?.[0]?.code).toBe('SMART-on-FHIR');
    const binary = rest.resource!.find((r) => r.type === 'Binary')!;
    expect(binary).toMatchObject({ versioning: 'versioned', updateCreate: true, readHistory: true });
    expect(binary.searchParam!.map((p) => p.name)).toEqual(['_id', '_lastUpdated', '_language']);
    // R4 defines no _language SearchParameter: the server serves its own (#12.6).
    expect(binary.searchParam![2]!.definition).toBe(`${s.base}/SearchParameter/Binary-language`);
    expect((await fetch(`${s.base}/metadata?_format=xml`)).status).toBe(406);
  });

  test('C27: the statement lists exactly the interactions and operations of the route table', async () => {
    const cs = (await (await fetch(`${s.base}/metadata`)).json()) as CapabilityStatement;
    const binary = cs.rest![0]!.resource!.find((r) => r.type === 'Binary')!;
    const stated = new Set(binary.interaction!.map((i) => i.code));
    const routed = new Set(routes.map(interactionOf).filter((i) => i !== undefined));
    expect(stated).toEqual(routed);
    const operations = new Set(routes.map(operationOf).filter((o) => o !== undefined));
    expect(new Set((binary.operation ?? []).map((o) => o.name))).toEqual(operations);
    // Every route is accounted for: an interaction, an operation, or a public conformance
    // resource (metadata itself and what it links to, C27).
    const unaccounted = routes.filter(
      (r) => r.method !== 'HEAD' && !interactionOf(r) && !operationOf(r) && r.access !== 'public',
    );
    expect(unaccounted).toEqual([]);
    // Today's table, spelled out, so a route that silently stops mapping is noticed.
    for (const i of [
      'read',
      'vread',
      'update',
      'patch',
      'delete',
      'history-instance',
      'history-type',
      'create',
    ])
      expect(stated).toContain(i);
    expect(stated).toContain('search-type');
  });
});
