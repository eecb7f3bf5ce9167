import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { type RouteDef, routes } from '../../functions/routes';
import { groupByName } from '../../infra/api';
import { buildApp } from '../../infra/app';
import { capabilitiesFor, defaultCapabilities } from '../../infra/permissions';
import type { FhirBinaryStack } from '../../infra/stack';
import { actionsOf, BUCKET_WRITES, logicalIdOf, statementsOf, TABLE_WRITES, testApp } from './support';

/**
 * The stack is built from whatever the route table holds. Routes the table lacks are played here
 * by entries that reuse existing handler modules, so their wiring and grants are checked too.
 */
const BASE = '/organizations/{organizationId}/fhir/4';
const extra: RouteDef[] = [
  { name: 'metadata', method: 'GET', path: `${BASE}/metadata`, module: 'handlers/read', access: 'public' },
  {
    name: 'upload-start',
    method: 'POST',
    path: `${BASE}/Binary/$upload`,
    module: 'handlers/create',
    access: 'write',
  },
  {
    name: 'upload-status',
    method: 'GET',
    path: `${BASE}/Binary/$upload/{uploadId}`,
    module: 'handlers/create',
    access: 'write',
  },
  {
    name: 'history-type',
    method: 'GET',
    path: `${BASE}/Binary/_history`,
    module: 'handlers/vread',
    access: 'read',
  },
];

let app: App;
let stack: FhirBinaryStack;
let template: Template;

beforeAll(() => {
  app = testApp();
  stack = buildApp(app, {
    issuer: 'https://issuer.example.com/',
    audience: 'aud',
    // Entries the real table now has are taken from it; the rest are played as described above.
    routes: [...routes, ...extra.filter((e) => !routes.some((r) => r.name === e.name))],
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

test('C28: `$upload` paths become routes as written', () => {
  template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: `POST ${BASE}/Binary/$upload`,
    AuthorizationType: 'JWT',
  });
  template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: `GET ${BASE}/Binary/$upload/{uploadId}`,
  });
});

test('C28-C30: upload-* functions get the multipart actions with KMS data keys', () => {
  for (const name of ['upload-start', 'upload-status']) {
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

test('a new read route gets the read defaults: no writes, no deletes', () => {
  expect(capabilitiesFor('history-type', 'read')).toEqual(defaultCapabilities.read);
  const actions = actionsOf(template, fnOf('history-type'));
  expect(actions).toContain('s3:GetObject');
  for (const a of [...TABLE_WRITES, ...BUCKET_WRITES]) expect(actions).not.toContain(a);
});

test('a route name cannot map to two modules', () => {
  const r = routes[0]!;
  expect(() => groupByName([r, { ...r, method: 'PUT', module: 'handlers/other' }])).toThrow(/more than one/);
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
    expect(ofEmitter.map((a) => a.MetricName).sort()).toEqual(['Errors', 'Throttles']);
  });
});
