import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { expiredIntent } from '../adapters/dynamo-schema';
import { reapIntent } from '../core/reaper';
import { logger } from '../logger';
import { wiring } from '../wiring';

/**
 * DynamoDB stream consumer for TTL deletions of intents: the write that staged those bytes never
 * committed, so the bytes go too. The CDK event source filters to REMOVE records made by the TTL
 * service; `expiredIntent` (dynamo-schema.ts) repeats the check.
 */
export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const failures: DynamoDBBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const intent = expiredIntent(record);
    if (!intent) continue;
    try {
      const deleted = await reapIntent(wiring(), intent);
      logger.info('intent expired', { blobKey: intent.blobKey, deleted });
    } catch (e) {
      logger.error('reaping failed', { error: e as Error });
      failures.push({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' });
      break; // later records are retried with it, in order
    }
  }
  return { batchItemFailures: failures };
}
