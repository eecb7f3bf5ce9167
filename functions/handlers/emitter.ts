import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { committedVersion } from '../adapters/dynamo-schema';
import { buildNotification, type NotificationPublisher } from '../core/notification';
import type { BlobStore } from '../core/ports';
import { logger } from '../logger';
import { wiring } from '../wiring';

export interface EmitterDeps {
  blobs: Pick<BlobStore, 'get'>;
  publisher: NotificationPublisher;
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
 * - Which records are notifications is decided by `committedVersion` (dynamo-schema.ts).
 * - Optionally an event filter on INSERTs of version items (infra/events.ts builds it from the
 *   schema's prefixes); the same check is repeated here.
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

/** The Lambda entry point: adapters from the composition root, on first use. */
export function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  if (!emitter) {
    const w = wiring();
    emitter = makeEmitter({ blobs: w.blobs, publisher: w.publisher });
  }
  return emitter(event);
}
