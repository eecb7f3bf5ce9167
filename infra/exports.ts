import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EXPORTS_PREFIX } from '../functions/adapters/s3-export-files';
import { EXPORT_MAX_ATTEMPTS, EXPORT_WORKER_TIMEOUT_SECONDS } from '../functions/handlers/export-worker';
import { logicalId, ServiceFunction } from './service-function';

export interface ExportsProps {
  readonly table: dynamodb.ITable;
  readonly bucket: s3.IBucket;
  readonly key: kms.IKey;
  /** The API's functions by operation name: the export routes get their extra grants here. */
  readonly apiFunctions: Map<string, ServiceFunction>;
  /** Environment the worker shares with the API functions (limits, export settings). */
  readonly environment?: Record<string, string>;
}

/**
 * Bulk export (C35): the worker function fed by its queue (one message per slice of a job, a
 * dead-letter queue after EXPORT_MAX_ATTEMPTS deliveries), and what the export routes need beyond
 * their access level: the kick-off sends to the queue, cancel deletes a job's files, download
 * reads them. Every object grant is limited to the `_exports/` prefix.
 */
export class Exports extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly worker: ServiceFunction;
  private readonly bucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: ExportsProps) {
    super(scope, id);
    const { table, bucket, key } = props;
    this.bucket = bucket;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the export queue; its alarm pages an operator.',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      // Above the worker's timeout, so a message is not delivered twice while a slice runs.
      visibilityTimeout: Duration.seconds(EXPORT_WORKER_TIMEOUT_SECONDS + 60),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: EXPORT_MAX_ATTEMPTS },
    });

    this.worker = new ServiceFunction(this, 'Worker', {
      module: 'handlers/export-worker',
      description: 'FHIR Binary: writes bulk export files, one slice per message (C35)',
      logKey: key,
      memorySize: 1024,
      timeout: Duration.seconds(EXPORT_WORKER_TIMEOUT_SECONDS),
      environment: {
        ...props.environment,
        TABLE_NAME: table.tableName,
        BUCKET_NAME: bucket.bucketName,
        EXPORT_QUEUE_URL: this.queue.queueUrl,
      },
    });
    this.worker.fn.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 1, reportBatchItemFailures: true }),
    );
    this.worker.grantCapabilities(['table:read', 'table:write', 'bucket:read'], table, bucket);
    this.grantExportObjects(this.worker, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject']);
    this.queue.grantSendMessages(this.worker.fn);

    // The kick-off's GET and POST forms are served by two functions (functions/routes.ts).
    const kickoffs = new Set(
      ['export-kickoff-get', 'export-kickoff-post'].flatMap((n) => props.apiFunctions.get(n) ?? []),
    );
    for (const kickoff of kickoffs) {
      kickoff.fn.addEnvironment('EXPORT_QUEUE_URL', this.queue.queueUrl);
      this.queue.grantSendMessages(kickoff.fn);
    }
    const cancel = props.apiFunctions.get('export-cancel');
    if (cancel) this.grantExportObjects(cancel, ['s3:DeleteObject']);
    const download = props.apiFunctions.get('export-download');
    if (download) this.grantExportObjects(download, ['s3:GetObject']);
  }

  /** Object actions on `_exports/*` only, ListBucket on that prefix, and the key's use. */
  private grantExportObjects(f: ServiceFunction, actions: string[]): void {
    const role = f.fn;
    role.addToRolePolicy(
      new iam.PolicyStatement({ actions, resources: [this.bucket.arnForObjects(`${EXPORTS_PREFIX}*`)] }),
    );
    if (actions.includes('s3:DeleteObject'))
      role.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${EXPORTS_PREFIX}*`] } },
        }),
      );
    const writes = actions.includes('s3:PutObject');
    this.bucket.encryptionKey?.grant(
      role,
      'kms:Decrypt',
      ...(writes ? ['kms:GenerateDataKey*', 'kms:Encrypt'] : []),
    );
    f.acknowledgeWildcard(
      `Resource::<${logicalId(this.bucket)}.Arn>/${EXPORTS_PREFIX}*`,
      'Export files are named per job ({org}/{jobId}/{n}.ndjson); the grant covers only the export prefix.',
    );
  }
}
