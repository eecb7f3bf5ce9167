import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { keys, VERSION_PREFIX } from '../functions/adapters/dynamo-schema';
import { EVENTS_PREFIX } from '../functions/adapters/sns-publisher';
import { FUNCTIONS_DIR, logicalId, ServiceFunction } from './service-function';

/** A consumer of the table's stream. */
export interface StreamConsumer {
  readonly name: 'emitter' | 'reaper';
  /** Module relative to `functions/` exporting `handler`. */
  readonly module: string;
}

/**
 * The stream consumers. A consumer whose module is not in this checkout yet is left out (the
 * emitter is written on another branch); once its file exists, the stack includes it.
 */
export const STREAM_CONSUMERS: StreamConsumer[] = [
  { name: 'emitter', module: 'handlers/emitter' },
  { name: 'reaper', module: 'handlers/reaper' },
];

/** Stream records per emitter invocation (Lambda's default): ten PublishBatch calls at most. */
export const EMITTER_BATCH_SIZE = 100;

export const consumerPresent = (c: StreamConsumer) => existsSync(path.join(FUNCTIONS_DIR, `${c.module}.ts`));

export interface EventsProps {
  readonly table: dynamodb.ITable;
  readonly bucket: s3.IBucket;
  /** Encrypts the topic, the failure queue and the functions' logs. */
  readonly key: kms.IKey;
  /**
   * Times a failing stream batch is retried (halved on each error) before it goes to the
   * failure queue.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Memory of the emitter, which may hold one version's bytes (≤ 10 MiB, C33) and their base64.
   * @default 1024
   */
  readonly emitterMemorySize?: number;
  /**
   * Concurrent emitter batches per stream shard (1–10); each resource's notifications stay in order.
   * @default 10
   */
  readonly emitterParallelization?: number;
  /**
   * The consumers to deploy.
   * @default - STREAM_CONSUMERS whose module exists
   */
  readonly consumers?: StreamConsumer[];
}

/**
 * Notifications (C32–C34) and orphan cleanup, both driven by the table's stream: the emitter
 * publishes each committed version to the SNS topic; the reaper deletes the bytes of intents the
 * TTL expired. Batches that keep failing go to an encrypted SQS queue instead of blocking the shard.
 */
export class Events extends Construct {
  readonly topic: sns.Topic;
  readonly failureQueue: sqs.Queue;
  readonly emitter?: ServiceFunction;
  readonly reaper?: ServiceFunction;

  constructor(scope: Construct, id: string, props: EventsProps) {
    super(scope, id);
    const { table, bucket, key } = props;
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'FHIR Binary notifications',
      masterKey: key,
      enforceSSL: true,
    });
    this.failureQueue = new sqs.Queue(this, 'StreamFailures', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination of the stream consumers; its alarm pages an operator.',
    });

    const consumers = (props.consumers ?? STREAM_CONSUMERS).filter(consumerPresent);
    const common = {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 10,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.failureQueue),
    };

    const emitter = consumers.find((c) => c.name === 'emitter');
    if (emitter) {
      const fn = new ServiceFunction(this, 'Emitter', {
        module: emitter.module,
        description: 'FHIR Binary: publishes each committed version to SNS (C32-C34)',
        logKey: key,
        memorySize: props.emitterMemorySize ?? 1024,
        timeout: Duration.minutes(1),
        environment: {
          TABLE_NAME: table.tableName,
          BUCKET_NAME: bucket.bucketName,
          TOPIC_ARN: this.topic.topicArn,
        },
      });
      table.grantStreamRead(fn.fn);
      this.topic.grantPublish(fn.fn);
      fn.fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')] }),
      );
      fn.fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:PutObject'],
          resources: [bucket.arnForObjects(`${EVENTS_PREFIX}*`)],
        }),
      );
      key.grant(fn.fn, 'kms:Decrypt', 'kms:GenerateDataKey*');
      fn.acknowledgeWildcard(
        `Resource::<${logicalId(bucket)}.Arn>/*`,
        'The emitter reads the bytes of any committed version (keys are random per version) to build the notification body (C32).',
      );
      fn.acknowledgeWildcard(
        `Resource::<${logicalId(bucket)}.Arn>/${EVENTS_PREFIX}*`,
        'Offloaded notification bodies (C34) get fresh keys under the events prefix; PutObject is limited to that prefix.',
      );
      for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*'])
        fn.acknowledgeWildcard(
          `Action::${action}`,
          'Reading the encrypted stream, publishing to the encrypted topic and writing to the SSE-KMS bucket use the service key only (the resource is that key).',
        );
      fn.fn.addEventSource(
        new DynamoEventSource(table, {
          ...common,
          // #14 item 4: up to 10 concurrent batches per shard; records of one partition key (one
          // resource) stay in order within one of them, and the emitter publishes each batch with
          // PublishBatch, ten resources at a time.
          batchSize: EMITTER_BATCH_SIZE,
          parallelizationFactor: props.emitterParallelization ?? 10,
          // Only new versions: heads, intents and deletions by the TTL are not notifications.
          filters: [
            lambda.FilterCriteria.filter({
              eventName: lambda.FilterRule.isEqual('INSERT'),
              dynamodb: { Keys: { sk: { S: lambda.FilterRule.beginsWith(VERSION_PREFIX) } } },
            }),
          ],
        }),
      );
      this.emitter = fn;
    }

    const reaper = consumers.find((c) => c.name === 'reaper');
    if (reaper) {
      const fn = new ServiceFunction(this, 'Reaper', {
        module: reaper.module,
        description: 'FHIR Binary: deletes the bytes of writes that never committed',
        logKey: key,
        timeout: Duration.minutes(1),
        environment: { TABLE_NAME: table.tableName, BUCKET_NAME: bucket.bucketName },
      });
      table.grantStreamRead(fn.fn);
      // isCommitted() reads the resource's versions before any delete (core/reaper.ts).
      table.grantReadData(fn.fn);
      fn.fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:DeleteObject', 's3:AbortMultipartUpload'],
          resources: [bucket.arnForObjects('*')],
        }),
      );
      fn.acknowledgeWildcard(
        `Resource::<${logicalId(bucket)}.Arn>/*`,
        'Orphaned bytes can have any (random) key; the reaper deletes only keys of expired intents after checking no version refers to them.',
      );
      fn.acknowledgeWildcard(
        `Resource::<${logicalId(table)}.Arn>/index/*`,
        "CDK read grants include the table's indexes; the reaper reads only this table.",
      );
      for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*'])
        fn.acknowledgeWildcard(
          `Action::${action}`,
          "CDK read grants on the table's customer-managed key; the resource is that key only.",
        );
      fn.fn.addEventSource(
        new DynamoEventSource(table, {
          ...common,
          // Only intents removed by the TTL service: an intent the commit deleted
          // belongs to committed bytes and must never be reaped.
          filters: [
            lambda.FilterCriteria.filter({
              eventName: lambda.FilterRule.isEqual('REMOVE'),
              userIdentity: {
                type: lambda.FilterRule.isEqual('Service'),
                principalId: lambda.FilterRule.isEqual('dynamodb.amazonaws.com'),
              },
              dynamodb: { Keys: { pk: { S: lambda.FilterRule.beginsWith(keys.intentsUnder()) } } },
            }),
          ],
        }),
      );
      this.reaper = fn;
    }
  }
}
