import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { acceptedScopes } from '../../functions/core/auth';
import { BASE, gatewayRoutes, type OperationDef, operations, routes } from '../../functions/routes';
import { byModule } from '../../infra/api';
import { buildApp } from '../../infra/app';
import type { FhirBinaryStack } from '../../infra/stack';
import { actionsOf, BUCKET_WRITES, logicalIdOf, statementsOf, TABLE_WRITES, testApp } from './support';

/** The stack is built from the operation table (functions/routes.ts). */
let app: App;
let stack: FhirBinaryStack;
let template: Template;

beforeAll(() => {
  app = testApp();
  stack = buildApp(app, {
    issuer: 'https://issuer.example.com/',
    audience: 'aud',
    operations,
  });
  // Throws on any cdk-nag finding: a public route and the emitter must be acknowledged properly too.
  const assembly = app.synth();
  template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
});

const fnOf = (name: string) => stack.api.functions.get(name)!;

test('C2/C27: a public route has no authorizer and its function touches no data', () => {
  template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: `GET ${BASE}/metadata`,
    AuthorizationType: 'NONE',
    AuthorizerId: Match.absent(),
  });
  const actions = [...actionsOf(template, fnOf('metadata'))];
  expect(actions.filter((a) => /^(dynamodb|s3|kms):/.test(a))).toEqual([]);
});

const keyOf = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

test('C28 (#9 item 5): no route key holds a `$`; operation segments are path variables named like their siblings', () => {
  const keys = routes.map(keyOf);
  expect(keys.filter((k) => k.includes('$'))).toEqual([]);
  expect(keys).toEqual(
    expect.arrayContaining([
      `POST ${BASE}/Binary/{id}`,
      `POST ${BASE}/Binary/{id}/{op}`,
      `GET ${BASE}/Binary/{id}/{op}`,
      `POST ${BASE}/Binary/{id}/{op}/complete`,
      `DELETE ${BASE}/Binary/{id}/{op}`,
    ]),
  );
  expect(new Set(keys).size).toBe(keys.length);
  // Siblings (routes with the same parent path) name a variable segment one way only.
  const names = new Map<string, Set<string>>();
  for (const k of keys) {
    const segs = k.split(' ')[1]!.split('/');
    segs.forEach((seg, i) => {
      if (!seg.startsWith('{')) return;
      const parent = segs
        .slice(0, i)
        .join('/')
        .replace(/\{\w+\}/g, '{}');
      names.set(parent, new Set([...(names.get(parent) ?? []), seg]));
    });
  }
  for (const [parent, n] of names) expect([parent, [...n]]).toEqual([parent, [...n].slice(0, 1)]);
});

test('C35 (#9 item 5): operations behind one gateway route share its function, and the route takes the union of their scopes', () => {
  const at = (method: string, path: string) => routes.find((r) => keyOf(r) === `${method} ${BASE}${path}`)!;
  expect(at('GET', '/Binary/{id}').operations).toEqual(['read', 'export-kickoff-get']);
  expect(at('HEAD', '/Binary/{id}').operations).toEqual(['read']);
  expect(at('POST', '/Binary/{id}').operations).toEqual(['upload-start', 'validate', 'export-kickoff-post']);
  expect(at('GET', '/Binary/{id}/{op}').operations).toEqual([
    'upload-status',
    'export-status',
    'export-download',
  ]);
  expect(at('DELETE', '/Binary/{id}/{op}').operations).toEqual(['upload-abort', 'export-cancel']);
  const post = at('POST', '/Binary/{id}');
  expect(post.scopes).toEqual(
    expect.arrayContaining([...acceptedScopes(['c']), ...acceptedScopes(['r']), ...acceptedScopes(['s'])]),
  );
  expect(post.scopes).not.toContain('system/Binary.d');
  for (const name of ['upload-start', 'validate', 'export-kickoff-post', 'upload-start-id'])
    expect([name, fnOf(name)]).toEqual([name, fnOf('upload-start')]);
  expect(fnOf('export-kickoff-get')).toBe(fnOf('read'));
  expect(fnOf('export-download')).toBe(fnOf('upload-status'));
  expect(fnOf('export-cancel')).toBe(fnOf('upload-abort'));
});

test('#9 item 5: two modules behind one gateway route are refused, and so are public and protected operations', () => {
  const op = (name: string, path: string, module: string, permission: OperationDef['permission'] = ['r']) =>
    ({
      name,
      routes: [{ methods: ['GET'], path: `${BASE}${path}` }],
      permission,
      capabilities: [],
      module,
    }) satisfies OperationDef;
  const read = op('read', '/Binary/{id}', 'handlers/read');
  expect(() => gatewayRoutes([read, op('x', '/Binary/$x', 'handlers/other')])).toThrow(
    /read and x share the API Gateway route GET .*\/Binary\/\{id\}: serve them from one module/,
  );
  expect(() => gatewayRoutes([read, op('x', '/Binary/$x', 'handlers/read')])).not.toThrow();
  expect(() => gatewayRoutes([read, op('x', '/Binary/$x', 'handlers/read', 'public')])).toThrow(
    /mixes public and protected/,
  );
});

test('#9 item 5: each handler module serves exactly the operations the table gives it', async () => {
  for (const [module, ops] of byModule(operations)) {
    const { handler } = (await import(`../../functions/${module}`)) as { handler: { operations?: string[] } };
    expect([module, [...(handler.operations ?? [])].sort()]).toEqual([module, ops.map((o) => o.name).sort()]);
  }
});

test('#9 item 5: a function serving several operations gets the union of their grants', () => {
  // upload-status presigns part uploads; export-download reads export files (C29, C35).
  const actions = actionsOf(template, fnOf('export-download'));
  for (const a of ['s3:GetObject', 's3:PutObject', 's3:ListMultipartUploadParts', 'dynamodb:GetItem'])
    expect([a, actions.has(a)]).toEqual([a, true]);
  // read also kicks off GET exports: it may write the job and send to the export queue, but never
  // put or delete objects.
  const read = actionsOf(template, fnOf('read'));
  expect(read.has('sqs:SendMessage')).toBe(true);
  expect(read.has('dynamodb:PutItem') || read.has('dynamodb:TransactWriteItems')).toBe(true);
  for (const a of BUCKET_WRITES) expect([a, read.has(a)]).toEqual([a, false]);
});

test('C28-C30: upload-* functions get the multipart actions with KMS data keys', () => {
  for (const name of [
    'upload-start',
    'upload-start-id',
    'upload-status',
    'upload-complete',
    'upload-abort',
  ]) {
    const actions = actionsOf(template, fnOf(name));
    for (const a of [
      's3:PutObject',
      's3:AbortMultipartUpload',
      's3:ListMultipartUploadParts',
      'kms:GenerateDataKey*',
      'kms:Decrypt',
    ])
      expect([name, actions.has(a)]).toEqual([name, true]);
  }
});

test('C19/C22: patch may copy an object by parts (a new contentType on large bytes) and abort a failed copy', () => {
  const actions = actionsOf(template, fnOf('patch'));
  for (const a of [
    's3:GetObject',
    's3:PutObject',
    's3:AbortMultipartUpload',
    'kms:Decrypt',
    'kms:GenerateDataKey*',
  ])
    expect(['patch', actions.has(a)]).toEqual(['patch', true]);
});

test('read operations get read grants only: no writes, no deletes', () => {
  for (const name of ['history-type', 'history-instance', 'search']) {
    const actions = actionsOf(template, fnOf(name));
    expect(actions).toContain('s3:GetObject');
    for (const a of [...TABLE_WRITES, ...BUCKET_WRITES])
      expect([name, actions.has(a)]).toEqual([name, false]);
  }
});

test('every gateway route of the table is deployed, and only those; no key but $default holds a `$` (#9 item 5)', () => {
  const keys: string[] = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
    (r) => r.Properties.RouteKey,
  );
  expect(keys.sort()).toEqual([...routes.map(keyOf), '$default'].sort());
  expect(keys.filter((k) => k !== '$default' && k.includes('$'))).toEqual([]);
  expect(routes.length).toBeGreaterThan(15);
});

describe('emitter (C32-C34)', () => {
  test('consumes only new versions (INSERT of V# items), bisects, retries, reports item failures, has a failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalIdOf(stack.events.emitter!.fn) },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(stack.events.failureQueue), 'Arn'] } },
      },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { Keys: { sk: { S: [{ prefix: 'V#' }] } } },
            }),
          },
        ],
      },
    });
  });

  test('knows its topic and may publish to it, read objects, and put only under _events/', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalIdOf(stack.events.emitter!.fn)]!;
    expect(fn.Properties.Environment.Variables.TOPIC_ARN).toEqual({ Ref: logicalIdOf(stack.events.topic) });
    const statements = statementsOf(template, stack.events.emitter!);
    const publish = statements.find((s) => s.actions.includes('sns:Publish'));
    expect(publish?.resource).toContain(logicalIdOf(stack.events.topic));
    const puts = statements.filter((s) => s.actions.includes('s3:PutObject'));
    expect(puts).toHaveLength(1);
    expect(puts[0]!.resource).toContain('/_events/*');
    const actions = actionsOf(template, stack.events.emitter!);
    expect(actions).toContain('s3:GetObject');
    expect(actions).toContain('dynamodb:GetRecords');
    for (const a of [...TABLE_WRITES, 's3:DeleteObject']) expect(actions).not.toContain(a);
  });

  test('has an error alarm and a throttle alarm', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const ofEmitter = alarms.filter((a) =>
      (a.Dimensions ?? []).some(
        (d: { Value: unknown }) =>
          JSON.stringify(d.Value) === JSON.stringify({ Ref: logicalIdOf(stack.events.emitter!.fn) }),
      ),
    );
    expect(ofEmitter.map((a) => a.MetricName).sort()).toEqual(['Errors', 'IteratorAge', 'Throttles']);
  });
});

test('C9: every operation route that accepts GET accepts HEAD, but the $export kick-off (GET starts a job)', () => {
  const missing = operations.flatMap((op) =>
    op.routes
      .filter((r) => r.methods.includes('GET') && !r.methods.includes('HEAD'))
      .map((r) => `${op.name} ${r.path}`),
  );
  expect(missing).toEqual([`export-kickoff-get ${BASE}/Binary/$export`]);
});
