import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TABLE } from '../functions/adapters/dynamo-schema';
import { EXPORTS_PREFIX } from '../functions/adapters/s3-export-files';
import { EVENTS_PREFIX } from '../functions/adapters/sns-publisher';
import { SERVICE_KEY_PREFIX } from '../functions/core/ids';
import { bucketCorsRules } from './bucket-cors';
import { ABORT_INCOMPLETE_UPLOADS } from './bucket-lifecycle';

export interface StorageProps {
  /**
   * Browser origins allowed to PUT upload parts straight to the bucket (C28); presigned reads are
   * allowed from any origin (infra/bucket-cors.ts).
   * @default - no browser can upload parts
   */
  readonly allowedOrigins?: string[];
  /**
   * Days after which S3 aborts a multipart upload that was never completed (C30).
   * @default ABORT_INCOMPLETE_UPLOADS.days (infra/bucket-lifecycle.ts): 2
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
   * Turns on S3 Object Lock with a default retention of this many days in GOVERNANCE mode: no
   * version of any object can be deleted or overwritten before then, except by a principal with
   * s3:BypassGovernanceRetention that asks for the bypass (no role of the stack has it). See
   * docs/DEPLOY.md for what that changes (retained orphans, event bodies and export files;
   * checksums on every upload request).
   * @default - no Object Lock (the bucket policy alone protects version objects)
   */
  readonly objectLockDays?: number;
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
    const lockDays = props.objectLockDays;
    if (lockDays !== undefined && !(Number.isInteger(lockDays) && lockDays >= 1))
      throw new Error(`objectLockDays must be a whole number of days ≥ 1, got ${lockDays}`);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      // SSE-KMS with the service key: presigned GETs (SigV4) of the functions' roles decrypt
      // because those roles may use the key; the bucket key cuts KMS requests per object.
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      ...(lockDays !== undefined
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(lockDays)),
          }
        : {}),
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
          id: ABORT_INCOMPLETE_UPLOADS.id,
          abortIncompleteMultipartUploadAfter: Duration.days(
            props.abortIncompleteUploadsAfterDays ?? ABORT_INCOMPLETE_UPLOADS.days,
          ),
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

  /**
   * #14 item 8: committed version objects can be neither deleted nor overwritten by the functions
   * that write them. Tenant keys are every key but the service's own (`_events/`, `_exports/`,
   * SERVICE_KEY_PREFIX in functions/core/ids.ts), whose owners delete and rewrite them. On tenant keys:
   * - only `deleters` (the reaper, which deletes the bytes of writes that never committed, and
   *   only after checking that no version refers to them) may DeleteObject; in a versioned bucket
   *   that only adds a delete marker, and the lifecycle rule removes the old version later;
   * - nobody may DeleteObjectVersion (permanent removal is the lifecycle's, which bucket policies
   *   do not govern);
   * - an object may only be created, never replaced: PutObject and CompleteMultipartUpload must
   *   carry `If-None-Match: *` (condition key `s3:if-none-match`); `s3:ObjectCreationOperation`
   *   exempts CreateMultipartUpload, UploadPart and UploadPartCopy, which take no conditional
   *   header. CopyObject is refused by this (S3 documents 403 without the header and 501 with it),
   *   so copies go through UploadPartCopy (functions/adapters/s3-blob-store.ts).
   * AWS: S3 User Guide, "Enforce conditional writes on Amazon S3 buckets".
   */
  protectVersionObjects(deleters: iam.IRole[]): void {
    const tenantKeysOnly = { notResources: [this.bucket.arnForObjects(`${SERVICE_KEY_PREFIX}*`)] };
    const everyone = { effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()] };
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyVersionObjectDeleteExceptReaper',
        ...everyone,
        actions: ['s3:DeleteObject'],
        ...tenantKeysOnly,
        ...(deleters.length
          ? { conditions: { ArnNotEquals: { 'aws:PrincipalArn': deleters.map((r) => r.roleArn) } } }
          : {}),
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyVersionObjectVersionDelete',
        ...everyone,
        actions: ['s3:DeleteObjectVersion'],
        ...tenantKeysOnly,
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyVersionObjectOverwrite',
        ...everyone,
        actions: ['s3:PutObject'],
        ...tenantKeysOnly,
        conditions: {
          Null: { 's3:if-none-match': 'true' },
          Bool: { 's3:ObjectCreationOperation': 'true' },
        },
      }),
    );
  }
}
