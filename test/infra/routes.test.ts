import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { acceptedScopes } from '../../functions/core/auth';
import { BASE, gatewayRoutes, type OperationDef, operations, routes } from '../../functions/routes';
import { buildApp } from '../../infra/app';
import type { FhirBinaryStack } from '../../infra/stack';
import { actionsOf, BUCKET_WRITES, logicalIdOf, statementsOf, TABLE_WRITES, testApp } from './support';

/**
 * The stack is built from the operation table (functions/routes.ts), plus one operation the table
 * lacks today, shaped like the bulk export's status route (C35), served from the upload-status
 * module: it shares the upload-status gateway route, so its wiring is checked too.
 */
const exportStatus: OperationDef = {
  name: 'export-status-test',
  routes: [{ methods: ['GET'], path: `${BASE}/Binary/$export/{jobId}` }],
  permission: ['r'],
  capabilities: ['table:read'],
  capability: { operation: 'export' },
  module: 'handlers/upload-status',
};

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

/** The table without the operations not yet grouped for variable gateway paths (C35, $validate). */
const grouped = operations.filter((o) => !o.name.startsWith('export') && o.name !== 'validate');

test('C28 (#9 item 5): with variables, no route key holds a `$`; operation segments are path variables', () => {
  const keys = gatewayRoutes(grouped, true).map((r) => `${r.method} ${r.path}`);
  expect(keys.filter((k) => k.includes('$'))).toEqual([]);
  expect(keys).toEqual(
    expect.arrayContaining([
      `POST ${BASE}/Binary/{op}`,
      `POST ${BASE}/Binary/{id}/{op}`,
      `GET ${BASE}/Binary/{op}/{uploadId}`,
      `POST ${BASE}/Binary/{op}/{uploadId}/complete`,
      `DELETE ${BASE}/Binary/{op}/{uploadId}`,
    ]),
  );
  expect(new Set(keys).size).toBe(keys.length);
});

test('C35 (#9 item 5): an operation sharing a gateway route shares its module and adds its scopes', () => {
  const shared = gatewayRoutes([...grouped, exportStatus], true).find(
    (r) => r.method === 'GET' && r.path === `${BASE}/Binary/{op}/{uploadId}`,
  )!;
  expect(shared.operations).toEqual(['upload-status', 'export-status-test']);
  expect(shared.scopes).toEqual(expect.arrayContaining([...acceptedScopes(['c', 'u']), 'system/Binary.r']));
});

test('two modules behind one gateway route are refused (GET $export beside read)', () => {
  expect(() => gatewayRoutes(operations, true)).toThrow(/share the API Gateway route/);
  const kickoff: OperationDef = {
    ...exportStatus,
    name: 'export-kickoff-test',
    routes: [{ methods: ['GET'], path: `${BASE}/Binary/$export` }],
    module: 'handlers/other',
  };
  expect(() => gatewayRoutes([...grouped, kickoff], true)).toThrow(
    /share the API Gateway route GET .*\/Binary\/\{id\}/,
  );
  expect(() => gatewayRoutes([...grouped, { ...kickoff, module: 'handlers/read' }], true)).not.toThrow();
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

test('every gateway route of the table is deployed, and only those', () => {
  const keys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
    (r) => r.Properties.RouteKey,
  );
  expect(keys.sort()).toEqual(
    [...gatewayRoutes(operations).map((r) => `${r.method} ${r.path}`), '$default'].sort(),
  );
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
