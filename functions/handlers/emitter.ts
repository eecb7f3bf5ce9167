import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { recordFromItem } from '../adapters/dynamo-repository';
import { makeSnsClient, SnsPublisher } from '../adapters/sns-publisher';
import { buildNotification, type NotificationPublisher } from '../core/notification';
import type { BlobStore, VersionRecord } from '../core/ports';
import { appDeps } from '../http/deps';
import { logger } from '../http/logger';

export interface EmitterDeps {
  blobs: Pick<BlobStore, 'get'>;
  publisher: NotificationPublisher;
}

/**
 * The committed version a stream record announces, or undefined for anything else: heads
 * (`HEAD`), intents (`I#…`), upload sessions (`U#…`), checkpoints, and every MODIFY/REMOVE.
 * Version items are immutable and written once, so their INSERT is the commit (C32).
 */
export function committedVersion(r: DynamoDBRecord): VersionRecord | undefined {
  const image = r.dynamodb?.NewImage;
  if (r.eventName !== 'INSERT' || !image) return undefined;
  const sk = image.sk?.S;
  const pk = image.pk?.S;
  if (!sk?.startsWith('V#') || !pk?.startsWith('B#')) return undefined;
  return recordFromItem(unmarshall(image as Record<string, AttributeValue>));
}

/**
 * DynamoDB stream (NEW_AND_OLD_IMAGES) → one SNS notification per committed version (C32–C34).
 *
 * What the handler expects from its event source mapping (the CDK stack configures it):
 * - `ReportBatchItemFailures` on. Records are published in stream order; on the first failure the
 *   handler stops and reports that record's sequence number, so Lambda retries from it and the
 *   records before it (already published) are not published again.
 * - `bisectBatchOnFunctionError` and a bounded `retryAttempts` / `maxRecordAge`, with an
 *   on-failure destination (SQS queue) that receives the poison record's stream coordinates.
 *   A thrown error (crash, timeout) retries the whole batch: at least once, duplicates carry the
 *   same `versionId` so subscribers can dedupe.
 * - Optionally a filter `{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"sk": {"S":
 *   [{"prefix": "V#"}]}}}}`; the same check is repeated here.
 */
export function makeEmitter(deps: EmitterDeps) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    for (const r of event.Records) {
      const record = committedVersion(r);
      if (!record) continue;
      try {
        const n = await buildNotification(record, (key) => deps.blobs.get(key));
        await deps.publisher.publish(n);
        logger.info('notification published', { ...n.attributes });
      } catch (e) {
        logger.error('notification failed', {
          organizationId: record.org,
          resourceId: record.id,
          versionId: record.vid,
          error: e as Error,
        });
        return { batchItemFailures: [{ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' }] };
      }
    }
    return { batchItemFailures: [] };
  };
}

let emitter: ReturnType<typeof makeEmitter> | undefined;

/** The Lambda entry point: adapters built once per container on first use. */
export function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  if (!emitter) {
    const deps = appDeps();
    const { topicArn, bucketName } = deps.appConfig;
    if (!topicArn) throw new Error('TOPIC_ARN must be set for the emitter');
    emitter = makeEmitter({
      blobs: deps.blobs,
      publisher: new SnsPublisher(makeSnsClient(deps.appConfig), deps.clients.s3, topicArn, bucketName),
    });
  }
  return emitter(event);
}
