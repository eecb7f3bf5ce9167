import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { defaultRoute, operations, routes } from '../../functions/routes';
import { byModule } from '../../infra/api';
import { buildApp, propsFromContext } from '../../infra/app';
import { bucketCorsRules } from '../../infra/bucket-cors';
import { ABORT_INCOMPLETE_UPLOADS } from '../../infra/bucket-lifecycle';
import { consumerPresent, STREAM_CONSUMERS } from '../../infra/events';
import { retentionDays } from '../../infra/retention';
import { FhirBinaryStack } from '../../infra/stack';
import {
  actionsOf,
  BUCKET_WRITES,
  logicalIdOf,
  statementsOf,
  TABLE_READS,
  TABLE_WRITES,
  testApp,
} from './support';

const BASE = '/organizations/{organizationId}/fhir/4';
const ORIGIN = 'https://app.example.com';
const SUBSCRIBER_ACCOUNT = '111122223333';
const SUBSCRIBER_ROLE = 'arn:aws:iam::444455556666:role/notifications';

let app: App;
let stack: FhirBinaryStack;
let template: Template;
let synthError: unknown;

beforeAll(() => {
  app = testApp();
  stack = buildApp(app, {
    issuer: 'https://issuer.example.com/',
    audience: 'fhir-binary-test',
    allowedOrigins: [ORIGIN],
    subscribers: [SUBSCRIBER_ACCOUNT, SUBSCRIBER_ROLE],
  });
  try {
    // The cdk-nag packs run here: any unacknowledged finding makes synthesis throw.
    const assembly = app.synth();
    template = Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
  } catch (e) {
    synthError = e;
  }
});

/** Every function of the stack: API functions and the stream consumers present. */
const allFunctions = () =>
  [
    ...new Set(stack.api.functions.values()),
    stack.events.reaper,
    stack.events.emitter,
    stack.exports.worker,
  ].filter((f) => f !== undefined);

const fnOf = (name: string) => {
  const f = stack.api.functions.get(name);
  if (!f) throw new Error(`no function for route ${name}`);
  return f;
};

describe('cdk-nag', () => {
  test('AwsSolutions and HIPAA Security packs: zero unacknowledged findings', () => {
    expect(synthError).toBeUndefined();
  });

  test('every acknowledgement carries a reason', () => {
    const acks = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string | { reason: string }>));
    expect(acks.length).toBeGreaterThan(5);
    for (const [id, v] of acks) {
      const reason = typeof v === 'string' ? v : v.reason;
      expect({ id, reason: reason.length >= 40 }).toEqual({ id, reason: true });
    }
  });

  test('the packs do fail an unencrypted, non-TLS bucket (the check is live)', () => {
    const bad = new App();
    new s3.Bucket(new Stack(bad, 'Bad'), 'Open', { encryption: s3.BucketEncryption.UNENCRYPTED });
    Validations.of(bad).addPlugins(new AwsSolutionsChecks(bad), new HIPAASecurityChecks(bad));
    expect(() => bad.synth()).toThrow();
  });
});

describe('API (C2)', () => {
  // The core interactions must stay routed even if the table is edited by mistake.
  const core = [
    ['create', 'POST', '/Binary'],
    ['read', 'GET', '/Binary/{id}'],
    ['read', 'HEAD', '/Binary/{id}'],
    ['vread', 'GET', '/Binary/{id}/_history/{vid}'],
    ['vread', 'HEAD', '/Binary/{id}/_history/{vid}'],
    ['update', 'PUT', '/Binary/{id}'],
    ['delete', 'DELETE', '/Binary/{id}'],
  ] as const;

  test.each(core)('C10-C23: %s %s %s is in the route table', (name, method, path) => {
    // #9 item 5: the GET $export kick-off shares read's gateway route.
    const route = routes.find((r) => r.method === method && r.path === `${BASE}${path}`);
    expect(route?.operations[0]).toBe(name);
  });

  test('one API route per gateway route, with the JWT authorizer and every scope form its operations accept', () => {
    const all = template.findResources('AWS::ApiGatewayV2::Route');
    expect(Object.keys(all)).toHaveLength(routes.length + 1); // + $default (C40)
    for (const r of routes) {
      const expected = r.public
        ? { RouteKey: `${r.method} ${r.path}`, AuthorizationType: 'NONE' }
        : {
            RouteKey: `${r.method} ${r.path}`,
            AuthorizationType: 'JWT',
            AuthorizerId: Match.anyValue(),
            AuthorizationScopes: Match.arrayEquals(r.scopes),
          };
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', expected);
    }
  });

  test('each route targets the function of its module', () => {
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const routeRes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    for (const r of routes) {
      const route = routeRes.find((x) => x.Properties.RouteKey === `${r.method} ${r.path}`)!;
      const integrationId = (route.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
      const uri = integrations[integrationId.Ref]!.Properties.IntegrationUri;
      expect(uri).toEqual({ 'Fn::GetAtt': [logicalIdOf(fnOf(r.operations[0]!).fn), 'Arn'] });
    }
  });

  test('C40: a $default route without authorizer targets the fallback function, which touches no data', () => {
    const route = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).find(
      (x) => x.Properties.RouteKey === '$default',
    )!;
    expect(route.Properties.AuthorizationType).toBe('NONE');
    const integrationId = (route.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
    const uri = template.findResources('AWS::ApiGatewayV2::Integration')[integrationId.Ref]!.Properties
      .IntegrationUri;
    const fallback = fnOf(defaultRoute.name);
    expect(uri).toEqual({ 'Fn::GetAtt': [logicalIdOf(fallback.fn), 'Arn'] });
    const actions = statementsOf(template, fallback).flatMap((x) => x.actions);
    expect(actions.filter((a) => /^(dynamodb|s3|kms):/.test(a))).toEqual([]);
  });

  test('JWT authorizer: issuer and audience from the props (context values)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['fhir-binary-test'] },
    });
  });

  test('CORS for the configured origins; access logs and throttling on the stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({
        AllowOrigins: [ORIGIN],
        ExposeHeaders: Match.arrayWith(['etag', 'location']),
        AllowHeaders: Match.arrayWith(['authorization', 'prefer', 'if-match']),
      }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: Match.anyValue() }),
    });
  });
});

describe('functions', () => {
  const names = [...operations.map((o) => o.name), defaultRoute.name];
  const modules = byModule(operations);
  const consumers = STREAM_CONSUMERS.filter(consumerPresent);

  test('one function per module (its operations share it), the $default function, the stream consumers present and the export worker', () => {
    template.resourceCountIs('AWS::Lambda::Function', modules.size + 1 + consumers.length + 1);
    expect([...stack.api.functions.keys()].sort()).toEqual([...names].sort());
    expect(stack.events.reaper).toBeDefined();
    expect(stack.events.emitter !== undefined).toBe(consumers.some((c) => c.name === 'emitter'));
  });

  test('Node 22 on arm64, handler export, X-Ray, source maps, own log group, env of functions/config.ts', () => {
    for (const f of allFunctions()) {
      const props = template.findResources('AWS::Lambda::Function')[logicalIdOf(f.fn)]!.Properties;
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: logicalIdOf(f.logGroup) } },
      });
      expect(Object.keys(props.Environment.Variables)).toEqual(
        expect.arrayContaining(['TABLE_NAME', 'BUCKET_NAME', 'POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS']),
      );
      expect(props.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  test('every log group has a retention and is encrypted with the service key', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(modules.size + consumers.length + 1);
    for (const g of groups) {
      expect(g.Properties.RetentionInDays).toBeGreaterThanOrEqual(365);
      expect(g.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [logicalIdOf(stack.storage.key), 'Arn'] });
    }
  });
});

describe('least privilege', () => {
  test.each(['read', 'vread'])(
    'C14/C15: the %s role can read the table and objects, never put or delete objects',
    (name) => {
      const actions = actionsOf(template, fnOf(name));
      for (const a of TABLE_READS) expect(actions).toContain(a);
      expect(actions).toContain('s3:GetObject');
      // read's function also serves the GET $export kick-off (one gateway route, #9 item 5), which
      // writes the job and the tenant's lock (C35); vread writes nothing.
      const writes = name === 'read' ? BUCKET_WRITES : [...TABLE_WRITES, ...BUCKET_WRITES];
      for (const a of writes) expect(actions).not.toContain(a);
    },
  );

  test.each(['create', 'update'])(
    'C10/C20: the %s role writes the table and puts objects, but deletes none (#14.8: the reaper does)',
    (name) => {
      const actions = actionsOf(template, fnOf(name));
      for (const a of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 's3:PutObject'])
        expect(actions).toContain(a);
      expect(actions).not.toContain('s3:DeleteObject');
      expect(actions).not.toContain('s3:AbortMultipartUpload');
    },
  );

  test('C23: the delete role writes the table and touches no object', () => {
    const actions = actionsOf(template, fnOf('delete'));
    expect(actions).toContain('dynamodb:PutItem');
    expect([...actions].filter((a) => a.startsWith('s3:'))).toEqual([]);
  });

  test('object grants name only this bucket; no role gets a service-wide wildcard action', () => {
    for (const f of allFunctions()) {
      for (const s of statementsOf(template, f)) {
        for (const a of s.actions) expect(a).not.toMatch(/:\*$/);
        if (s.actions.some((a) => a.startsWith('s3:')))
          expect(s.resource).toContain(logicalIdOf(stack.storage.bucket));
      }
    }
  });

  test('the reaper reads the table, deletes objects and aborts uploads, and writes nothing else', () => {
    const actions = actionsOf(template, stack.events.reaper!);
    expect(actions).toContain('dynamodb:GetItem');
    expect(actions).toContain('s3:DeleteObject');
    expect(actions).toContain('s3:AbortMultipartUpload');
    for (const a of [...TABLE_WRITES, 's3:PutObject']) expect(actions).not.toContain(a);
  });

  test('#14.8: besides the reaper, only export roles may delete objects, and only under _exports/', () => {
    for (const f of allFunctions().filter((f) => f !== stack.events.reaper))
      for (const s of statementsOf(template, f))
        if (s.actions.includes('s3:DeleteObject')) expect(s.resource).toContain('/_exports/*');
  });
});

describe('storage', () => {
  test('the table matches local/provision.ts: keys, GSIs with ALL projection, TTL, stream', () => {
    const gsi = (name: string, pk: string, sk: string) => ({
      IndexName: name,
      KeySchema: [
        { AttributeName: pk, KeyType: 'HASH' },
        { AttributeName: sk, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayEquals(
        ['pk', 'sk', 'tpk', 'tsk', 'cpk', 'csk'].map((n) => ({ AttributeName: n, AttributeType: 'S' })),
      ),
      GlobalSecondaryIndexes: Match.arrayEquals([
        gsi('byTenant', 'tpk', 'tsk'),
        gsi('currentByTenant', 'cpk', 'csk'),
      ]),
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  test('the table is on-demand, recoverable, protected from deletion and encrypted with the service key', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(stack.storage.key), 'Arn'] },
      },
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('the bucket blocks public access, is KMS-encrypted and logs its accesses', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [logicalIdOf(stack.storage.key), 'Arn'] },
            },
          }),
        ],
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: logicalIdOf(stack.storage.accessLogsBucket) } },
    });
  });

  test('C28/C30/C34: lifecycle aborts stale multipart uploads and expires offloaded event bodies', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: ABORT_INCOMPLETE_UPLOADS.id,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
            Status: 'Enabled',
          }),
          Match.objectLike({ Prefix: '_events/', ExpirationInDays: 14, Status: 'Enabled' }),
        ]),
      },
    });
  });

  test('C28, #14.5: bucket CORS (infra/bucket-cors.ts): presigned GET/HEAD from any origin, PUT only from the configured ones', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [
          // After the 307 of a large read the browser sends `Origin: null`: only `*` matches it.
          Match.objectLike({ AllowedMethods: ['GET', 'HEAD'], AllowedOrigins: ['*'] }),
          Match.objectLike({ AllowedMethods: ['PUT'], AllowedOrigins: [ORIGIN], ExposedHeaders: ['ETag'] }),
        ],
      },
    });
    // The local S3 stand-in gets the same rules (local/provision.ts).
    expect(bucketCorsRules([ORIGIN]).map((r) => [r.allowedMethods, r.allowedOrigins])).toEqual([
      [['GET', 'HEAD'], ['*']],
      [['PUT'], [ORIGIN]],
    ]);
  });

  test('both buckets, both topics and the three queues refuse requests without TLS', () => {
    const denyInsecure = Match.arrayWith([
      Match.objectLike({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    ]);
    for (const [type, count] of [
      ['AWS::S3::BucketPolicy', 2],
      ['AWS::SNS::TopicPolicy', 2],
      ['AWS::SQS::QueuePolicy', 3],
    ] as const) {
      const found = template.findResources(type, {
        Properties: { PolicyDocument: { Statement: denyInsecure } },
      });
      expect([type, Object.keys(found).length]).toEqual([type, count]);
    }
  });
});

describe('events and alarms', () => {
  test('C32: the topic and the failure queue are encrypted with the service key', () => {
    const key = { 'Fn::GetAtt': [logicalIdOf(stack.storage.key), 'Arn'] };
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: key,
      DisplayName: 'FHIR Binary notifications',
    });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: key });
  });

  test('the reaper sees only TTL removals of intents, bisects, reports item failures, has a failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalIdOf(stack.events.reaper!.fn) },
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: Match.anyValue(),
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [logicalIdOf(stack.events.failureQueue), 'Arn'] } },
      },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['REMOVE'],
              userIdentity: { type: ['Service'], principalId: ['dynamodb.amazonaws.com'] },
              dynamodb: { Keys: { pk: { S: [{ prefix: 'I#' }] } } },
            }),
          },
        ],
      },
    });
  });

  test('alarms on API 5xx, throttles of every function, consumer errors and a non-empty failure queue', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    for (const a of alarms)
      expect(a.AlarmActions).toEqual([{ Ref: logicalIdOf(stack.monitoring.alarmTopic) }]);
    const metric = (name: string) => alarms.filter((a) => a.MetricName === name);
    expect(metric('5xx')).toHaveLength(1);
    expect(metric('Throttles')).toHaveLength(
      new Set(stack.api.functions.values()).size + STREAM_CONSUMERS.filter(consumerPresent).length + 1,
    );
    expect(metric('Errors').length).toBeGreaterThanOrEqual(2);
    expect(metric('ApproximateNumberOfMessagesVisible')).toHaveLength(2);
  });
});

describe('bulk export (C35)', () => {
  const EXPORT_OBJECTS = '/_exports/*';
  const objectGrants = (f: Parameters<typeof statementsOf>[1]) =>
    statementsOf(template, f).filter((st) => st.actions.some((a) => a.startsWith('s3:')));

  test('C35: the worker runs 15 minutes from its queue, one message at a time, item failures reported', () => {
    const worker = template.findResources('AWS::Lambda::Function')[logicalIdOf(stack.exports.worker.fn)]!;
    expect(worker.Properties.Timeout).toBe(900);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalIdOf(stack.exports.worker.fn) },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const queue = template.findResources('AWS::SQS::Queue')[logicalIdOf(stack.exports.queue)]!;
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThan(900);
    expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(3);
  });

  test('C35: export files expire under _exports/ by lifecycle rule', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'expire-export-files', Prefix: '_exports/', ExpirationInDays: 2 }),
        ]),
      },
    });
  });

  test('C35: least privilege: object grants of the worker name only _exports/; the export operations add only _exports/ grants to their functions', () => {
    const worker = stack.exports.worker;
    const grants = objectGrants(worker).filter((st) => !st.actions.every((a) => a === 's3:GetObject'));
    for (const g of grants)
      expect(g.resource).toContain(g.actions.includes('s3:ListBucket') ? 'Arn' : EXPORT_OBJECTS);
    // #9 item 5: export-download and export-cancel share their functions with $upload status and
    // abort (one gateway route each), whose capabilities cover the bucket; the export grants on
    // top name only _exports/.
    const exportGrant = (name: string, action: string) =>
      objectGrants(fnOf(name)).filter(
        (g) => g.actions.includes(action) && g.resource.includes(EXPORT_OBJECTS),
      );
    expect(exportGrant('export-download', 's3:GetObject')).toHaveLength(1);
    expect(exportGrant('export-cancel', 's3:DeleteObject')).toHaveLength(1);
    for (const name of ['export-kickoff-get', 'export-kickoff-post'])
      expect([name, actionsOf(template, fnOf(name)).has('sqs:SendMessage')]).toEqual([name, true]);
    // The GET kick-off shares read's function: it may send to the queue, never write objects.
    const read = actionsOf(template, fnOf('export-kickoff-get'));
    for (const a of BUCKET_WRITES) expect([a, read.has(a)]).toEqual([a, false]);
    for (const a of ['s3:PutObject', 's3:AbortMultipartUpload', 'sqs:SendMessage', 'sqs:ReceiveMessage'])
      expect(actionsOf(template, worker).has(a)).toBe(true);
  });
});

describe('#14: the stack in production', () => {
  test('#14.1: the alarm topic lets CloudWatch alarms of this account publish (topic policy and key policy)', () => {
    const topic = logicalIdOf(stack.monitoring.alarmTopic);
    const scoped = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': Match.anyValue() },
    };
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topic },
            Condition: scoped,
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: scoped,
          }),
        ]),
      },
    });
  });

  /** A second stack with the optional props set (no cdk-nag: the main stack covers it). */
  let configured: Template;
  beforeAll(() => {
    const s = new FhirBinaryStack(testApp(), 'Configured', {
      issuer: 'https://issuer.example.com/',
      audience: 'a',
      logRetention: logs.RetentionDays.SIX_YEARS,
      publicBaseUrl: 'https://api.example.org/binary/',
      objectLockDays: 2192,
    });
    configured = Template.fromStack(s);
    configuredStack = s;
  });
  let configuredStack: FhirBinaryStack;

  test('#14.7 (C1): publicBaseUrl reaches every API function as PUBLIC_BASE_URL; unset, none has it', () => {
    const env = (t: Template) =>
      [...byModule(operations).values()].map((ops) => {
        const fns = Object.values(t.findResources('AWS::Lambda::Function'));
        const description = `FHIR Binary: ${ops.map((o) => o.name).join(', ')}`;
        return fns.filter((f) => f.Properties.Description === description)[0]?.Properties.Environment
          .Variables.PUBLIC_BASE_URL;
      });
    expect(new Set(env(configured))).toEqual(new Set(['https://api.example.org/binary']));
    expect(new Set(env(template))).toEqual(new Set([undefined]));
  });

  test('#14.2 (C34): subscribers may subscribe, read _events/* and decrypt only via S3 for _events/ objects', () => {
    const principals = Match.arrayWith([
      SUBSCRIBER_ROLE,
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${SUBSCRIBER_ACCOUNT}:root`]] },
    ]);
    const statement = (extra: Record<string, unknown>) =>
      Match.arrayWith([Match.objectLike({ Effect: 'Allow', Principal: { AWS: principals }, ...extra })]);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: logicalIdOf(stack.events.topic) }],
      PolicyDocument: { Statement: statement({ Action: 'sns:Subscribe' }) },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalIdOf(stack.storage.bucket) },
      PolicyDocument: {
        Statement: statement({
          Action: 's3:GetObject',
          Resource: {
            'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalIdOf(stack.storage.bucket), 'Arn'] }, '/_events/*']],
          },
        }),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: statement({
          Action: 'kms:Decrypt',
          Condition: {
            StringEquals: { 'kms:ViaService': Match.anyValue() },
            ArnLike: { 'kms:EncryptionContext:aws:s3:arn': Match.anyValue() },
          },
        }),
      },
    });
  });

  test('#14.4: the emitter reads batches of 100 with parallelization 10 and reports item failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalIdOf(stack.events.emitter!.fn) },
      BatchSize: 100,
      ParallelizationFactor: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
    });
  });

  test('#14.4: an IteratorAge alarm (max over 5 min ≥ 30 min) on each stream consumer notifies the alarm topic', () => {
    for (const f of [stack.events.emitter!, stack.events.reaper!]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'IteratorAge',
        Namespace: 'AWS/Lambda',
        Statistic: 'Maximum',
        Period: 300,
        Threshold: 1_800_000,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalIdOf(f.fn) } }],
        AlarmActions: [{ Ref: logicalIdOf(stack.monitoring.alarmTopic) }],
      });
    }
  });

  test('#14.8: every log group keeps one year by default and the logRetention prop sets them all', () => {
    for (const g of Object.values(template.findResources('AWS::Logs::LogGroup')))
      expect(g.Properties.RetentionInDays).toBe(365);
    const groups = Object.values(configured.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThan(routes.length / 2);
    for (const g of groups) expect(g.Properties.RetentionInDays).toBe(2192);
    expect(() => retentionDays('2000')).toThrow(/logRetentionDays must be one of/);
    expect(retentionDays('2192')).toBe(logs.RetentionDays.SIX_YEARS);
  });

  /** The statements of the data bucket's policy, by Sid. */
  const bucketPolicy = (t: Template, st: FhirBinaryStack) => {
    const [policy] = Object.values(
      t.findResources('AWS::S3::BucketPolicy', {
        Properties: { Bucket: { Ref: logicalIdOf(st.storage.bucket) } },
      }),
    );
    const statements = policy!.Properties.PolicyDocument.Statement as Record<string, unknown>[];
    return new Map(statements.map((x) => [x.Sid, x]));
  };

  test('#14.8: on tenant keys only the reaper may delete, nobody may delete a version, and objects are created only with If-None-Match', () => {
    const bucket = logicalIdOf(stack.storage.bucket);
    // Every key but the service's own (`_events/`, `_exports/`): organization ids cannot start with `_`.
    const tenantKeys = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/_*']] };
    const everyone = { Effect: 'Deny', Principal: { AWS: '*' }, NotResource: tenantKeys };
    const statements = bucketPolicy(template, stack);
    expect(statements.get('DenyVersionObjectDeleteExceptReaper')).toEqual({
      Sid: 'DenyVersionObjectDeleteExceptReaper',
      ...everyone,
      Action: 's3:DeleteObject',
      Condition: {
        ArnNotEquals: {
          'aws:PrincipalArn': [{ 'Fn::GetAtt': [logicalIdOf(stack.events.reaper!.fn.role!), 'Arn'] }],
        },
      },
    });
    expect(statements.get('DenyVersionObjectVersionDelete')).toEqual({
      Sid: 'DenyVersionObjectVersionDelete',
      ...everyone,
      Action: 's3:DeleteObjectVersion',
    });
    // S3 User Guide, "Enforce conditional writes": PutObject and CompleteMultipartUpload need
    // `If-None-Match: *`; CreateMultipartUpload, UploadPart(Copy) are not creating operations.
    expect(statements.get('DenyVersionObjectOverwrite')).toEqual({
      Sid: 'DenyVersionObjectOverwrite',
      ...everyone,
      Action: 's3:PutObject',
      Condition: {
        Null: { 's3:if-none-match': 'true' },
        Bool: { 's3:ObjectCreationOperation': 'true' },
      },
    });
    // The reaper is the one role allowed to delete tenant objects by IAM as well.
    expect(actionsOf(template, stack.events.reaper!)).toContain('s3:DeleteObject');
  });

  test('#14.8: objectLockDays turns on Object Lock in GOVERNANCE mode with that default retention; unset, none', () => {
    configured.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 2192 } },
      },
    });
    // The bucket policy is the same with the lock.
    expect([...bucketPolicy(configured, configuredStack).keys()]).toEqual(
      expect.arrayContaining([
        'DenyVersionObjectDeleteExceptReaper',
        'DenyVersionObjectVersionDelete',
        'DenyVersionObjectOverwrite',
      ]),
    );
    for (const b of Object.values(template.findResources('AWS::S3::Bucket'))) {
      expect(b.Properties.ObjectLockEnabled).toBeUndefined();
      expect(b.Properties.ObjectLockConfiguration).toBeUndefined();
    }
    // The context value (a string on the command line) reaches the prop; nonsense is refused.
    const ctxApp = new App({ context: { issuer: 'https://i/', audience: 'a', objectLockDays: '30' } });
    expect(propsFromContext(ctxApp).objectLockDays).toBe(30);
    expect(
      () =>
        new FhirBinaryStack(testApp(), 'BadLock', { issuer: 'https://i/', audience: 'a', objectLockDays: 0 }),
    ).toThrow(/objectLockDays must be a whole number of days/);
  });
});
