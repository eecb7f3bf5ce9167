import { authorize, principalFromClaims } from '../../functions/core/auth';
import { base64DecodedLength, binaryFromFhir, toFhir } from '../../functions/core/binary';
import { ifMatchVid, notModified, parseRange } from '../../functions/core/conditional';
import { isJsonType, wantsFhirJson } from '../../functions/core/media';
import { OperationOutcomeError } from '../../functions/core/outcome';
import type { VersionRecord } from '../../functions/core/ports';
import { preferReturn } from '../../functions/core/prefer';
import type { FhirRequest } from '../../functions/core/request';
import { parseCdata } from '../../functions/http/audit';

const req = (headers: Record<string, string> = {}, query: Record<string, string[]> = {}): FhirRequest => ({
  method: 'GET',
  params: {},
  query,
  headers,
  body: new Uint8Array(),
  baseUrl: 'http://x/organizations/o/fhir/4',
});
const status = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as OperationOutcomeError).status;
  }
  return 0;
};

describe('C18 parseRange', () => {
  test.each([
    [undefined, { kind: 'full' }],
    ['bytes=0-0', { kind: 'partial', start: 0, end: 0 }],
    ['bytes=5-', { kind: 'partial', start: 5, end: 9 }],
    ['bytes=-4', { kind: 'partial', start: 6, end: 9 }],
    ['bytes=-40', { kind: 'partial', start: 0, end: 9 }],
    ['bytes=8-100', { kind: 'partial', start: 8, end: 9 }],
    ['bytes=10-', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=5-2', { kind: 'full' }],
    ['items=0-1', { kind: 'full' }],
    ['bytes=0-1,3-4', { kind: 'full' }],
  ])('%s of 10 bytes → %j', (h, out) => expect(parseRange(h, 10)).toEqual(out));
});

describe('C16 wantsFhirJson', () => {
  test.each([
    [{}, 'image/png', false],
    [{ accept: '*/*' }, 'image/png', false],
    [{ accept: 'application/fhir+json' }, 'application/json', true],
    [{ accept: 'application/json' }, 'image/png', true],
    [{ accept: 'application/json' }, 'application/json', false],
    [{ accept: 'application/json' }, 'application/ld+json; charset=utf-8', false],
    [{ accept: 'image/png' }, 'image/png', false],
  ])('%j on %s → %s', (h, ct, out) => expect(wantsFhirJson(req(h), ct)).toBe(out));
  test('_format wins; xml → 406', () => {
    expect(wantsFhirJson(req({ accept: 'image/png' }, { _format: ['json'] }), 'image/png')).toBe(true);
    expect(status(() => wantsFhirJson(req({}, { _format: ['xml'] }), 'image/png'))).toBe(406);
    expect(status(() => wantsFhirJson(req({ accept: 'application/fhir+xml' }), 'image/png'))).toBe(406);
  });
  test('isJsonType', () => {
    expect(isJsonType('application/vnd.api+json')).toBe(true);
    expect(isJsonType('text/json')).toBe(false);
  });
});

describe('C2 auth', () => {
  test('claims flattened by API Gateway ("[a b]") are read like arrays', () => {
    const p = principalFromClaims({
      sub: 'u',
      organizations: '[org-a org-b]',
      scope: 'system/Binary.read openid',
    });
    expect(p).toEqual({
      sub: 'u',
      organizations: ['org-a', 'org-b'],
      scopes: ['system/Binary.read', 'openid'],
    });
    expect(principalFromClaims({ organizations: '*' }).organizations).toBe('*');
    expect(principalFromClaims({ organizations: ['*'] }).organizations).toBe('*');
  });
  test('tenant and scope checks', () => {
    const p = principalFromClaims({ organizations: ['a'], scope: 'system/Binary.rs' });
    expect(status(() => authorize(p, 'a', 'read'))).toBe(0);
    expect(status(() => authorize(p, 'a', 'write'))).toBe(403);
    expect(status(() => authorize(p, 'b', 'read'))).toBe(403);
    expect(status(() => authorize(undefined, 'a', 'read'))).toBe(401);
    expect(status(() => authorize(undefined, 'a', 'public'))).toBe(0);
    expect(
      status(() =>
        authorize(principalFromClaims({ organizations: ['a'], scope: 'patient/Binary.read' }), 'a', 'read'),
      ),
    ).toBe(403);
  });
});

describe('C11 binaryFromFhir', () => {
  const ok = () => undefined;
  test('keeps meta tags, drops versioning meta and id', () => {
    const { resource, bytes } = binaryFromFhir(
      {
        resourceType: 'Binary',
        id: 'x',
        meta: { versionId: '3', tag: [{ code: 't' }] },
        contentType: 'a/b',
        data: 'AAEC',
      },
      ok,
      65536,
    );
    expect(resource).toEqual({ resourceType: 'Binary', meta: { tag: [{ code: 't' }] }, contentType: 'a/b' });
    expect([...bytes]).toEqual([0, 1, 2]);
  });
  test('size is checked before decoding', () => {
    const seen: number[] = [];
    binaryFromFhir({ resourceType: 'Binary', contentType: 'a/b', data: 'AAE=' }, (n) => seen.push(n), 65536);
    expect(seen).toEqual([2]);
    expect(base64DecodedLength('AA==')).toBe(1);
    expect(base64DecodedLength('AAAA')).toBe(3);
  });
  test.each(['AAE', 'A===', '====', 'AA=A', 'AA E', 'AAE=\n'])('rejects base64 %j', (data) => {
    expect(
      status(() => binaryFromFhir({ resourceType: 'Binary', contentType: 'a/b', data }, ok, 65536)),
    ).toBe(400);
  });
  test('C31: toFhir leaves data out with the data-absent-reason extension', () => {
    const r: VersionRecord = {
      org: 'o',
      id: 'i',
      vid: 2,
      lastUpdated: '2026-01-01T00:00:00.000Z',
      method: 'PUT',
      created: false,
      deleted: false,
      size: 9,
      resource: '{"resourceType":"Binary","contentType":"a/b"}',
    };
    expect(toFhir(r, 'absent')).toEqual({
      resourceType: 'Binary',
      id: 'i',
      meta: { versionId: '2', lastUpdated: '2026-01-01T00:00:00.000Z' },
      contentType: 'a/b',
      _data: {
        extension: [
          { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unsupported' },
        ],
      },
    });
  });
});

describe('C17/C21/C8 headers', () => {
  const v = { vid: 3, lastUpdated: '2026-01-01T10:00:00.500Z' } as VersionRecord;
  test('notModified', () => {
    expect(notModified(req({ 'if-none-match': 'W/"3"' }), v)).toBe(true);
    expect(notModified(req({ 'if-none-match': '"3"' }), v)).toBe(true);
    expect(notModified(req({ 'if-none-match': 'W/"2", W/"3"' }), v)).toBe(true);
    expect(notModified(req({ 'if-none-match': 'W/"2"' }), v)).toBe(false);
    expect(notModified(req({ 'if-modified-since': 'Thu, 01 Jan 2026 10:00:00 GMT' }), v)).toBe(true);
    expect(notModified(req({ 'if-modified-since': 'Thu, 01 Jan 2026 09:59:59 GMT' }), v)).toBe(false);
  });
  test('ifMatchVid', () => {
    expect(ifMatchVid(req({ 'if-match': 'W/"12"' }))).toBe(12);
    expect(ifMatchVid(req({ 'if-match': '"12"' }))).toBe(12);
    expect(ifMatchVid(req())).toBeUndefined();
    expect(status(() => ifMatchVid(req({ 'if-match': 'W/12' })))).toBe(400);
  });
  test('preferReturn', () => {
    expect(preferReturn(req({ prefer: 'return=minimal' }))).toBe('minimal');
    expect(preferReturn(req({ prefer: 'handling=strict, return=OperationOutcome' }))).toBe(
      'OperationOutcome',
    );
    expect(preferReturn(req({ prefer: 'respond-async' }))).toBeUndefined();
  });
});

describe('C38 parseCdata', () => {
  test('kv and json', () => {
    expect(parseCdata('a=1;b= two ;', undefined)).toEqual({ a: '1', b: 'two' });
    expect(parseCdata('{"x":[1]}', 'json')).toEqual({ x: [1] });
    expect(parseCdata(undefined, 'json')).toBeUndefined();
  });
  test.each([
    ['=1', 'kv'],
    ['a', 'kv'],
    ['nope', 'json'],
    ['"s"', 'json'],
    ['a=1', 'xml'],
  ])('%s (%s) → 400', (v, f) => expect(status(() => parseCdata(v, f))).toBe(400));
});

describe('C7 the one error exit', () => {
  test('an unexpected error → 500 exception with no internals', async () => {
    const { errorResult } = await import('../../functions/http/handler');
    const { logger } = await import('../../functions/logger');
    const spy = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    const res = errorResult(
      new Error('AccessDenied: arn:aws:s3:::secret-bucket at Object.<anonymous> (/var/task/index.js:1:1)'),
      'req-1',
    );
    expect(res.statusCode).toBe(500);
    const body = JSON.parse(String(res.body));
    expect(body.issue[0]).toMatchObject({ severity: 'fatal', code: 'exception' });
    expect(body.issue[0].diagnostics).toContain('req-1');
    expect(res.body).not.toMatch(/AccessDenied|arn:aws|index\.js/);
    expect(spy).toHaveBeenCalled();
  });
  test('an OperationOutcomeError keeps its status, code, message and headers', async () => {
    const { errorResult } = await import('../../functions/http/handler');
    const res = errorResult(
      new OperationOutcomeError(401, 'login', 'token missing', { 'WWW-Authenticate': 'Bearer' }),
      'r',
    );
    expect(res).toMatchObject({ statusCode: 401, headers: { 'WWW-Authenticate': 'Bearer' } });
    expect(JSON.parse(String(res.body)).issue[0]).toEqual({
      severity: 'error',
      code: 'login',
      diagnostics: 'token missing',
    });
  });
});
