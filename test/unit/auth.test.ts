import { acceptedScopes, authorize, type Permission, principalFromClaims } from '../../functions/core/auth';
import { OperationOutcomeError } from '../../functions/core/outcome';
import { gatewayPath, operations, routes } from '../../functions/routes';

/** C2 / #14 item 6: SMART v1 and v2 scopes, decided in core/auth.ts and listed on every route. */
const allows = (scope: string, permission: Permission) => {
  try {
    authorize(principalFromClaims({ organizations: ['o'], scope }), 'o', permission);
    return true;
  } catch (e) {
    if (e instanceof OperationOutcomeError && e.status === 403) return false;
    throw e;
  }
};

describe('C2 SMART scopes', () => {
  test.each([
    ['system/Binary.read', ['r'], true],
    ['system/Binary.read', ['s'], true],
    ['system/Binary.read', ['c'], false],
    ['system/Binary.write', ['u'], true],
    ['system/Binary.write', ['r'], false],
    ['system/Binary.*', ['d'], true],
    ['system/*.read', ['r'], true],
    ['user/*.rs', ['s'], true],
    ['system/Binary.r', ['r'], true],
    ['system/Binary.r', ['s'], false],
    ['system/Binary.cruds', ['d'], true],
    ['system/Binary.cud', ['c', 'u'], true],
    ['user/Binary.u', ['c', 'u'], true],
    ['system/Binary.rs', ['u'], false],
    // v2 letters out of order, granular (query) scopes, other contexts and types: not accepted.
    ['system/Binary.sr', ['r'], false],
    ['system/Binary.rs?category=x', ['r'], false],
    ['patient/Binary.read', ['r'], false],
    ['system/Patient.read', ['r'], false],
    ['system/Binary', ['r'], false],
  ] as const)('%s grants %j: %s', (scope, permission, expected) => {
    expect(allows(scope, permission)).toBe(expected);
  });

  test('the scopes listed for API Gateway are exactly the scopes the function accepts', () => {
    // Every candidate: contexts × resources × v1 levels and every ordered or unordered v2 string.
    const letters = ['c', 'r', 'u', 'd', 's'];
    const perms = new Set(['read', 'write', '*', 'x']);
    for (let mask = 1; mask < 32; mask++) {
      const sub = letters.filter((_, i) => mask & (1 << i));
      perms.add(sub.join(''));
      perms.add([...sub].reverse().join(''));
    }
    for (const permission of [['c'], ['r'], ['u'], ['d'], ['s'], ['c', 'u']] as Permission[]) {
      const listed = new Set(acceptedScopes(permission));
      for (const context of ['system', 'user', 'patient'])
        for (const resource of ['Binary', '*', 'Patient'])
          for (const p of perms) {
            const scope = `${context}/${resource}.${p}`;
            expect([scope, allows(scope, permission)]).toEqual([scope, listed.has(scope)]);
          }
    }
  });

  test('every protected gateway route lists v1 and v2 forms; only conformance resources are public', () => {
    for (const r of routes) {
      if (r.public) {
        expect(r.path).toMatch(
          /\/(metadata|OperationDefinition\/\{id\}|SearchParameter\/\{id\}|\.well-known\/smart-configuration)$/,
        );
        continue;
      }
      expect(r.scopes).toContain('system/Binary.*');
      expect(r.scopes).toContain('system/Binary.cruds');
      expect(r.scopes).toContain('user/*.cruds');
    }
    const read = routes.find((r) => r.method === 'GET' && r.path.endsWith('/Binary/{id}'))!;
    expect(read.scopes).toEqual(
      expect.arrayContaining(['system/Binary.read', 'system/Binary.r', 'user/*.rs']),
    );
    expect(read.scopes).not.toContain('system/Binary.write');
    // #9 item 5: the GET $export kick-off (r or s) shares read's gateway route, so the authorizer
    // lets `s` through there too; the function refuses it for a read (C2).
    expect(read.operations).toEqual(['read', 'export-kickoff-get']);
    expect(read.scopes).toContain('system/Binary.s');
  });
});

describe('C28 (#9 item 5) operation segments', () => {
  test('a gateway path replaces $ segments with variables named like their siblings; contract paths keep them', () => {
    expect(gatewayPath('/a/Binary/$upload/{uploadId}')).toBe('/a/Binary/{op}/{uploadId}');
    expect(gatewayPath('/a/Binary/{id}/$export-download')).toBe('/a/Binary/{id}/{op}');
    const names = new Map<string, string>();
    expect(gatewayPath('/a/Binary/{id}', names)).toBe('/a/Binary/{id}');
    expect(gatewayPath('/a/Binary/$upload/{uploadId}', names)).toBe('/a/Binary/{id}/{uploadId}');
    expect(gatewayPath('/a/Binary/{id}/$x', names)).toBe('/a/Binary/{id}/{uploadId}');
    expect(() => gatewayPath('/a/{x}/{y}', new Map([['/a/{}', 'x']]))).toThrow(/two segments \{x\}/);
    expect(operations.find((o) => o.name === 'upload-start')!.routes[0]!.path).toMatch(/\/Binary\/\$upload$/);
    expect(routes.length).toBeGreaterThan(15);
  });
});
