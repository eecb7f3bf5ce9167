import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TABLE } from '../functions/adapters/dynamo-schema';
import { EXPORTS_PREFIX } from '../functions/adapters/s3-export-files';
import { EVENTS_PREFIX } from '../functions/adapters/sns-publisher';
import { bucketCorsRules } from './bucket-cors';

export interface StorageProps {
  /**
   * Browser origins allowed to PUT upload parts straight to the bucket (C28); presigned reads are
   * allowed from any origin (infra/bucket-cors.ts).
   * @default - no browser can upload parts
   */
  readonly allowedOrigins?: string[];
  /**
   * Days after which S3 aborts a multipart upload that was never completed (C30).
   * @default 2
   */
  readonly abortIncompleteUploadsAfterDays?: number;
  /**
   * Days an offloaded notification body under `_events/` is kept; subscribers must fetch it sooner.
   * @default 14
   */
  readonly eventBodiesExpireAfterDays?: number;
  /**
   * Days bulk export files under `_exports/` are kept (C35); match EXPORT_RETENTION_SECONDS, after
   * which the API already answers 404 for them.
   * @default 2
   */
  readonly exportFilesExpireAfterDays?: number;
  /**
   * Days a deleted object's previous version is kept (versioning guards against accidental
   * deletes; committed objects are never overwritten, only orphans and event bodies are deleted).
   * @default 30
   */
  readonly noncurrentVersionsExpireAfterDays?: number;
  /**
   * Days server access logs are kept.
   * @default 365
   */
  readonly accessLogsExpireAfterDays?: number;
  /**
   * What happens to the table, the buckets and the key when the stack is deleted.
   * Health data: keep it unless told otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The data at rest: one customer-managed KMS key, the DynamoDB table (its shape is `TABLE` in
 * functions/adapters/dynamo-schema.ts; local/provision.ts creates the same table on moto), the
 * bucket of bytes (one immutable object per version) and the bucket of its access logs.
 */
export class Storage extends Construct {
  /** Encrypts the table, its stream, the bucket, the topics, the failure queue and the logs. */
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);
    // Log delivery is authorized by a bucket policy rather than the legacy ACL, so the log bucket
    // can enforce bucket-owner object ownership (ACLs disabled).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.key = new kms.Key(this, 'Key', {
      description: 'FHIR Binary service: table, bucket, topics, queue and logs',
      enableKeyRotation: true,
      removalPolicy,
    });
    // CloudWatch Logs encrypts the functions' and the API's log groups with this key; the
    // condition keeps it to log groups of this account and region.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );

    const s = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: s(TABLE.partitionKey),
      sortKey: s(TABLE.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      stream: dynamodb.StreamViewType[TABLE.streamViewType],
      timeToLiveAttribute: TABLE.ttlAttribute,
      removalPolicy,
    });
    Validations.of(this.table).acknowledge({
      id: 'HIPAA.Security-DynamoDBInBackupPlan',
      reason:
        "Point-in-time recovery (35 days, continuous) and deletion protection are on; long-term AWS Backup plans are usually set by the organization's central backup policy.",
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: s(index.partitionKey),
        sortKey: s(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      // S3 server access logging can only deliver to a bucket with SSE-S3 encryption.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.accessLogsExpireAfterDays ?? 365),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      removalPolicy,
    });
    Validations.of(this.accessLogsBucket).acknowledge(
      {
        id: 'AwsSolutions-S1',
        reason: 'This is the server access log bucket; logging its own accesses would recurse.',
      },
      {
        id: 'HIPAA.Security-S3BucketLoggingEnabled',
        reason: 'This is the server access log bucket; logging its own accesses would recurse.',
      },
      {
        id: 'HIPAA.Security-S3DefaultEncryptionKMS',
        reason: 'S3 server access logging delivers only to buckets encrypted with SSE-S3, not SSE-KMS.',
      },
      {
        id: 'HIPAA.Security-S3BucketReplicationEnabled',
        reason:
          'Access logs hold no health data; cross-region replication is a per-deployment disaster-recovery choice.',
      },
    );

    const eventsDays = props.eventBodiesExpireAfterDays ?? 14;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      // SSE-KMS with the service key: presigned GETs (SigV4) of the functions' roles decrypt
      // because those roles may use the key; the bucket key cuts KMS requests per object.
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'bucket/',
      // Presigned GETs (C19) from any origin, part PUTs (C28) from the configured ones.
      cors: bucketCorsRules(props.allowedOrigins ?? []).map((r) => ({
        id: r.id,
        allowedMethods: r.allowedMethods.map((m) => s3.HttpMethods[m]),
        allowedOrigins: r.allowedOrigins,
        allowedHeaders: r.allowedHeaders,
        exposedHeaders: r.exposedHeaders,
        maxAge: r.maxAgeSeconds,
      })),
      lifecycleRules: [
        {
          id: 'abort-incomplete-uploads',
          abortIncompleteMultipartUploadAfter: Duration.days(props.abortIncompleteUploadsAfterDays ?? 2),
        },
        { id: 'expire-event-bodies', prefix: EVENTS_PREFIX, expiration: Duration.days(eventsDays) },
        {
          id: 'expire-export-files',
          prefix: EXPORTS_PREFIX,
          expiration: Duration.days(props.exportFilesExpireAfterDays ?? 2),
        },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionsExpireAfterDays ?? 30),
        },
        { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
      ],
      removalPolicy,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'HIPAA.Security-S3BucketReplicationEnabled',
      reason:
        'Versioning plus DynamoDB PITR protect against loss in-region; cross-region replication doubles storage cost and is a per-deployment disaster-recovery choice.',
    });
  }
}
