/**
 * Arbitraries for the property-based fuzz suite (#13): requests over every route of the route
 * table with hostile ids, path escapes, headers, query strings, JSON, JSON Patch, Range,
 * If-Match, huge, empty and non-UTF-8 bodies. Pure data: test/integration/fuzz.test.ts sends them
 * in-process to the handlers and over HTTP to `npm start`.
 */
import fc from 'fast-check';
import { contractRoutes } from '../../functions/routes';

export interface FuzzRequest {
  method: string;
  /** Path below the origin, segments already encoded (or deliberately mis-encoded). */
  path: string;
  /** Raw query string without `?`. */
  query: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

const MiB = 1024 * 1024;
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

/** Path segment values: valid, invalid, reserved words, bad escapes, unicode, very long. */
function segment(known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9.-]{1,64}$/) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '%ZZ',
        '%',
        '%E2',
        '%C3%28',
        '%00',
        '%2F',
        '..',
        '.',
        '$upload',
        '_history',
        '_search',
        'metadata',
        '%24upload',
        'x'.repeat(65),
        'x'.repeat(2000),
        '%F0%9F%92%A9',
        '__proto__',
        'constructor',
        '0',
        '-1',
        '99999999999999999999999',
        '1e3',
        '%20',
      ),
    },
    {
      weight: 2,
      arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map(encodeURIComponent),
    },
  );
}

/**
 * A path built from a contract URL of the table (`$…` segments literal, as clients send them), or
 * a random path (the gateway answers those).
 */
function path(org: string, known: string[]): fc.Arbitrary<{ path: string; method: string }> {
  const fromRoute = fc
    .tuple(
      fc.constantFrom(...contractRoutes()),
      fc.oneof({ weight: 9, arbitrary: fc.constant(org) }, { weight: 1, arbitrary: segment(['other-org']) }),
      segment(known),
      segment(['1', '2', '3']),
      segment(['00000000-0000-0000-0000-000000000000']),
      fc.oneof(
        { weight: 19, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
      ),
    )
    .map(([r, o, id, vid, uploadId, method]) => ({
      method: method ?? r.method,
      path: r.path
        .replace('{organizationId}', o)
        .replace('{id}', id)
        .replace('{vid}', vid)
        .replace('{uploadId}', uploadId)
        .replace('{jobId}', uploadId),
    }));
  const random = fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      fc.array(segment(['organizations', org, 'fhir', '4', 'Binary']), { maxLength: 7 }),
    )
    .map(([method, segs]) => ({ method, path: `/${segs.join('/')}` }));
  return fc.oneof({ weight: 19, arbitrary: fromRoute }, { weight: 1, arbitrary: random });
}

const QUERY_KEYS = [
  '_id',
  '_lastUpdated',
  '_language',
  '_count',
  '_sort',
  '_summary',
  '_format',
  '_since',
  '_at',
  '_cursor',
  '_pretty',
  '_elements',
  '_id:not',
  'unknown',
];
const QUERY_VALUES = [
  '',
  'json',
  'xml',
  'application/fhir+json',
  'count',
  'true',
  '-_lastUpdated',
  '2024',
  '2024-02-30',
  'ge2024-01-01T00:00:00Z',
  'ne2024-01-01',
  'zz2024',
  'eq',
  '0',
  '-5',
  '1000000000000',
  'a,b,c,,',
  'MTIz',
  '!!!',
  '%ZZ',
  '%',
  'x'.repeat(3000),
  Array.from({ length: 150 }, (_, i) => `l${i}`).join(','),
];

const query = fc
  .array(
    fc.tuple(
      fc.constantFrom(...QUERY_KEYS),
      fc.oneof(fc.constantFrom(...QUERY_VALUES), fc.string({ maxLength: 30 })),
      fc.boolean(),
    ),
    { maxLength: 5 },
  )
  .map((pairs) =>
    pairs
      .map(([k, v, raw]) => `${k}=${raw && !/[#&]/.test(v) ? v.replace(/ /g, '+') : encodeURIComponent(v)}`)
      .join('&'),
  );

const CONTENT_TYPES = [
  'application/fhir+json',
  'application/json',
  'application/fhir+json; fhirVersion=4.0',
  'application/json-patch+json',
  'application/fhir+xml',
  'application/xml',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'image/png',
  'text',
  '',
  ';;;',
  'a/b; x="unterminated',
  'text/plain\r\nX-Injected: 1',
  'tëxt/plain',
];

/** Header values the fuzz may send (including CR/LF and non-Latin-1: in-process only). */
function headers(): fc.Arbitrary<Record<string, string>> {
  // Mostly absent, mostly well-formed when present: deep paths need plausible requests.
  const value = (pool: string[]) =>
    fc.oneof(
      { weight: 14, arbitrary: fc.constant(undefined) },
      { weight: 3, arbitrary: fc.constantFrom(...pool) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    );
  return fc
    .record({
      'content-type': value(CONTENT_TYPES),
      accept: value([
        'application/fhir+json',
        'application/json',
        '*/*',
        'application/fhir+xml',
        'text/html, */*;q=0.1',
      ]),
      'if-match': value(['W/"1"', '"1"', 'W/"999"', '*', 'W/"-1"', 'W/"1e3"', 'W/""']),
      'if-none-match': value(['W/"1"', '*', 'W/"x"']),
      'if-modified-since': value([
        'Thu, 01 Jan 1970 00:00:00 GMT',
        'not a date',
        'Fri, 31 Dec 9999 23:59:59 GMT',
      ]),
      range: value([
        'bytes=0-0',
        'bytes=-1',
        'bytes=5-',
        'bytes=9-1',
        'bytes=0-1,2-3',
        'bytes=99999999999999999999-',
        'items=0-1',
      ]),
      prefer: value([
        'return=minimal',
        'return=representation',
        'return=OperationOutcome',
        'handling=strict',
        'respond-async',
      ]),
      'x-security-context': value([
        'Patient/1',
        'Patient/1\r\nX: y',
        '#x',
        'Pätient/1',
        'https://x.example/Patient/1',
      ]),
      'log-cdata': value(['a=b;c=d', '{"a":1}', '=;=;', 'x'.repeat(3000), '[1,2]']),
      'log-cdata-format': value(['kv', 'json', 'xml']),
      'idempotency-key': value(['k1', 'k2', '"quoted-key"', 'bad key', 'x'.repeat(300)]),
    })
    .map(
      (h) =>
        Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>,
    );
}

const jsonValue = fc.json({ depthSize: 'small', maxDepth: 4 }).map((s) => JSON.parse(s) as unknown);

/** A FHIR Binary, mostly valid, with one or more elements made hostile. */
const binaryBody = fc
  .record(
    {
      resourceType: fc.constantFrom('Binary', 'Binary', 'Patient', 'binary'),
      id: fc.oneof(fc.constantFrom('x', 'known-1'), fc.string({ maxLength: 10 })),
      contentType: fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.string({ maxLength: 20 }), jsonValue),
      data: fc.oneof(
        fc.constantFrom('aGVsbG8=', '', 'AAE', '====', 'aGVsbG8=\n', '😀'),
        fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
        jsonValue,
      ),
      securityContext: fc.oneof(
        fc.record({
          reference: fc.oneof(fc.constantFrom('Patient/1', 'Patient/1\n', 'ü'), fc.string({ maxLength: 10 })),
        }),
        jsonValue,
      ),
      language: fc.oneof(fc.constantFrom('en', 'de-CH', ''), jsonValue),
      meta: fc.oneof(
        fc.record({ tag: fc.array(fc.record({ code: fc.string({ maxLength: 8 }) }), { maxLength: 3 }) }),
        jsonValue,
        fc.constant({ tag: [{ code: 'x'.repeat(80_000) }] }),
      ),
      _data: fc.oneof(
        fc.constant({
          extension: [
            { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unsupported' },
          ],
        }),
        jsonValue,
      ),
      extra: jsonValue,
    },
    { requiredKeys: ['resourceType'] },
  )
  .map((b) => utf8(JSON.stringify(b)));

const POINTERS = [
  '/contentType',
  '/data',
  '/securityContext',
  '/securityContext/reference',
  '/meta',
  '/meta/tag/-',
  '/meta/tag/0',
  '/id',
  '/resourceType',
  '',
  '/',
  '/__proto__',
  '/__proto__/polluted',
  '/constructor/prototype/polluted',
  '/language',
  '/_data',
  '/x/y/z',
  'no-slash',
  '/~2',
  '/meta/tag/99999999999',
];
const patchBody = fc
  .array(
    fc.record(
      {
        op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', '_get', 'bogus'),
        path: fc.oneof(fc.constantFrom(...POINTERS), fc.string({ maxLength: 10 })),
        from: fc.constantFrom(...POINTERS),
        value: fc.oneof(
          fc.constantFrom('text/markdown', 'text/plain\r\nX: y', 'aGk=', 'Patient/2', 'Binary'),
          jsonValue,
        ),
      },
      { requiredKeys: ['op'] },
    ),
    { maxLength: 4 },
  )
  .map((ops) => utf8(JSON.stringify(ops)));

const uploadBody = fc
  .record(
    {
      contentType: fc.oneof(
        { weight: 3, arbitrary: fc.constant('application/pdf') },
        fc.constantFrom(...CONTENT_TYPES),
        jsonValue,
      ),
      size: fc.oneof(
        { weight: 3, arbitrary: fc.constant(6 * MiB) },
        fc.constantFrom(1, 0, -1, 5 * MiB, 2 ** 53, 1.5, 3 * 1024 * MiB),
        jsonValue,
      ),
      partSize: fc.oneof(fc.constantFrom(5 * MiB, 1, 0, 6 * 1024 * MiB), jsonValue),
      sha256: fc.oneof(fc.constantFrom('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', 'x'), jsonValue),
      securityContext: fc.oneof(fc.constantFrom('Patient/1', 'Patient/1\r\n'), jsonValue),
      extra: jsonValue,
    },
    { requiredKeys: ['contentType', 'size'] },
  )
  .map((b) => utf8(JSON.stringify(b)));

const nested = (n: number) =>
  utf8(`{"resourceType":"Binary","contentType":"a/b","meta":${'['.repeat(n)}${']'.repeat(n)}}`);

/** A body with the Content-Type its kind is normally sent with (the request may override it). */
const typed = (a: fc.Arbitrary<Uint8Array>, ct: string) => a.map((bytes) => ({ bytes, ct }));

const body: fc.Arbitrary<{ bytes: Uint8Array; ct?: string }> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ bytes: new Uint8Array(0) }) },
  { weight: 6, arbitrary: typed(binaryBody, 'application/fhir+json') },
  { weight: 5, arbitrary: typed(patchBody, 'application/json-patch+json') },
  { weight: 2, arbitrary: typed(uploadBody, 'application/json') },
  { weight: 3, arbitrary: typed(fc.string({ maxLength: 100 }).map(utf8), 'text/plain') },
  { weight: 2, arbitrary: typed(fc.json({ maxDepth: 6 }).map(utf8), 'application/json') },
  { weight: 2, arbitrary: typed(fc.uint8Array({ maxLength: 200 }), 'application/octet-stream') },
  {
    weight: 1,
    arbitrary: typed(
      fc.constantFrom(new Uint8Array([0xc3, 0x28]), new Uint8Array([0xff, 0xfe, 0x7b])),
      'application/fhir+json',
    ),
  },
  { weight: 1, arbitrary: typed(fc.constantFrom(nested(100), nested(20_000)), 'application/fhir+json') },
  {
    weight: 1,
    arbitrary: typed(
      fc.constantFrom('_id=a,b&_count=1', '%ZZ=%ZZ', `_language=${'x,'.repeat(200)}`).map(utf8),
      'application/x-www-form-urlencoded',
    ),
  },
  // Rare, since each costs megabytes: just over the direct-write limit, and a large raw body.
  {
    weight: 1,
    arbitrary: typed(
      fc.constantFrom(new Uint8Array(4 * MiB + 1), new Uint8Array(64 * 1024)),
      'application/octet-stream',
    ),
  },
);

export function fuzzRequest(org: string, known: string[]): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(path(org, known), query, headers(), body, fc.boolean()).map(([p, q, h, b, coherent]) => ({
    method: p.method,
    path: p.path,
    query: q,
    // Half the requests declare their body's usual type, so they get past the media-type checks.
    headers: coherent && b.ct !== undefined ? { ...h, 'content-type': b.ct } : h,
    body: b.bytes,
  }));
}

/** Claims an authorizer could pass on: the right tenant, another, odd shapes, scopes or none. */
export function fuzzClaims(org: string): fc.Arbitrary<Record<string, unknown> | undefined> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant({ sub: 'fuzz', organizations: [org], scope: 'system/Binary.*' }) },
    {
      weight: 4,
      arbitrary: fc.record({
        sub: fc.oneof(fc.constant('fuzz'), jsonValue),
        organizations: fc.oneof(
          fc.constantFrom([org], ['other-org'], `[${org} other]`, '', 'other-org'),
          jsonValue,
        ),
        scope: fc.oneof(
          fc.constantFrom(
            'system/Binary.read',
            'system/Binary.write',
            'patient/Binary.*',
            'openid',
            '',
            'system/*',
          ),
          jsonValue,
        ),
      }),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}
