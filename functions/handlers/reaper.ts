import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { reapIntent } from '../core/reaper';
import { appDeps } from '../http/deps';
import { logger } from '../http/logger';
import { uploadDeps } from '../http/upload-deps';

/**
 * DynamoDB stream consumer for TTL deletions of intents (`I#…` items): the write that staged
 * those bytes never committed, so the bytes go too. The CDK event source filters to REMOVE
 * records made by the TTL service; the check here repeats it.
 */
export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const failures: DynamoDBBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const old = record.dynamodb?.OldImage;
    const byTtl =
      record.userIdentity?.type === 'Service' &&
      record.userIdentity?.principalId === 'dynamodb.amazonaws.com';
    if (record.eventName !== 'REMOVE' || !byTtl || !old) continue;
    const item = unmarshall(old as Record<string, AttributeValue>);
    if (item.kind !== 'intent' || typeof item.blobKey !== 'string') continue;
    try {
      const deleted = await reapIntent(uploadDeps(appDeps()), {
        blobKey: item.blobKey,
        org: String(item.org),
        id: String(item.id),
        // $upload intents also abort their multipart upload (C30).
        ...(typeof item.multipartUploadId === 'string' ? { multipartUploadId: item.multipartUploadId } : {}),
      });
      logger.info('intent expired', { blobKey: item.blobKey, deleted });
    } catch (e) {
      logger.error('reaping failed', { error: e as Error });
      failures.push({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' });
      break; // later records are retried with it, in order
    }
  }
  return { batchItemFailures: failures };
}
