import * as path from 'node:path';
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { API_FUNCTION_TIMEOUT_SECONDS } from '../functions/routes';
import { projectRoot } from '../local/paths';
import type { Capability } from './permissions';

/** The repository's `functions/` directory: route modules are relative to it. */
export const FUNCTIONS_DIR = path.resolve(projectRoot(), 'functions');

/** `POWERTOOLS_SERVICE_NAME` of every function; the logger's default too (functions/http/handler.ts). */
export const SERVICE_NAME = 'fhir-binary';

export interface ServiceFunctionProps {
  /** Module relative to `functions/` that exports `handler`, e.g. `handlers/read`. */
  readonly module: string;
  /** Environment variables the function reads (functions/config.ts). */
  readonly environment: Record<string, string>;
  /** Encrypts the function's log group. */
  readonly logKey: kms.IKey;
  /**
   * Memory; CPU grows with it.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(API_FUNCTION_TIMEOUT_SECONDS) — API Gateway's integration timeout is 30 s
   */
  readonly timeout?: Duration;
  /**
   * Days the function's logs are kept (the audit lines of C38 are in them).
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /** What the text says the function is for. */
  readonly description?: string;
}

/**
 * One Lambda function of the service: Node 22 on arm64, bundled by the local esbuild (no Docker),
 * minified with source maps, active X-Ray tracing, its own KMS-encrypted log group with retention.
 */
export class ServiceFunction extends Construct {
  readonly fn: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(FUNCTIONS_DIR, `${props.module}.ts`),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(API_FUNCTION_TIMEOUT_SECONDS),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
        forceDockerBundling: false,
        // Bundle the AWS SDK too: the versions tested here are the versions that run.
        externalModules: [],
      },
    });
    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'AWSLambdaBasicExecutionRole only lets the function write to its own log streams; it is the AWS-maintained minimum.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords (and dynamodb:ListStreams for stream consumers) support no resource-level permissions.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is the runtime the service is built and tested on (docs/ARCHITECTURE.md); moving to a newer runtime is a tested upgrade, not a flag.',
      },
      {
        id: 'HIPAA.Security-IAMNoInlinePolicy',
        reason:
          'The grants are one AWS::IAM::Policy per function role, created and deleted with it; a managed policy would hold the same least-privilege statements.',
      },
      {
        id: 'HIPAA.Security-LambdaInsideVPC',
        reason:
          'The functions only call regional AWS APIs (DynamoDB, S3, SNS, KMS) over TLS with IAM auth and reach no VPC resource; a VPC would add NAT or endpoint cost without reducing exposure.',
      },
      {
        id: 'HIPAA.Security-LambdaConcurrency',
        reason:
          'Load is bounded by the API stage throttle; reserved concurrency per function would fail deployment in accounts with the default concurrency quota.',
      },
      {
        id: 'HIPAA.Security-LambdaDLQ',
        reason:
          'API functions are invoked synchronously (errors go to the caller); stream consumers send failed batches to the on-failure SQS queue of their event source mapping.',
      },
    );
  }

  /**
   * Grants exactly the listed capabilities on the table and the bucket (see infra/permissions.ts);
   * KMS use of the key comes with them.
   */
  grantCapabilities(capabilities: Capability[], table: dynamodb.ITable, bucket: s3.IBucket): void {
    const role = this.fn;
    const objects = bucket.arnForObjects('*');
    const has = (c: Capability) => capabilities.includes(c);
    if (has('table:read')) {
      table.grantReadData(role);
      this.acknowledgeWildcard(
        `Resource::<${logicalId(table)}.Arn>/index/*`,
        "Queries need the table's GSIs (dynamo-schema.ts); the wildcard covers only this table's indexes.",
      );
    }
    if (has('table:write')) table.grantWriteData(role);
    if (has('table:read') || has('table:write'))
      for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*'])
        this.acknowledgeWildcard(
          `Action::${action}`,
          "CDK grants these KMS action families for the table's customer-managed key only (resource is that key).",
        );
    const s3Actions = [
      ...(has('bucket:read') ? ['s3:GetObject'] : []),
      ...(has('bucket:put') || has('bucket:multipart') ? ['s3:PutObject'] : []),
      ...(has('bucket:multipart') ? ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'] : []),
    ];
    if (s3Actions.length) {
      role.addToRolePolicy(new iam.PolicyStatement({ actions: s3Actions, resources: [objects] }));
      this.acknowledgeWildcard(
        `Resource::<${logicalId(bucket)}.Arn>/*`,
        "Object keys are random per version ({org}/Binary/{id}/{vid}-{random}), so object actions apply to the bucket's keys; the actions are limited per route (infra/permissions.ts).",
      );
      const key = bucket.encryptionKey;
      if (key) {
        // Reading and multipart completion decrypt; writing generates data keys.
        const writes = has('bucket:put') || has('bucket:multipart');
        key.grant(role, 'kms:Decrypt', ...(writes ? ['kms:GenerateDataKey*', 'kms:Encrypt'] : []));
      }
    }
  }

  /** Acknowledges one cdk-nag IAM5 wildcard finding of this function's role, with its reason. */
  acknowledgeWildcard(finding: string, reason: string): void {
    Validations.of(this).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}

/** The CloudFormation logical id of a construct's resource, as cdk-nag names it in findings. */
export function logicalId(c: IConstruct): string {
  return Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
}
