import { DeleteCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { keys, TTL_ATTRIBUTE } from '../functions/adapters/dynamo-schema';
import { handler as reaper } from '../functions/handlers/reaper';
import { wiring } from '../functions/wiring';

/**
 * moto never expires TTL items (docs/ARCHITECTURE.md, Toolchain facts), so locally this plays
 * DynamoDB's TTL: it deletes expired intent items and hands the reaper Lambda the REMOVE record
 * TTL would stream. Returns how many intents expired.
 */
export async function sweepExpiredIntents(now = Date.now()): Promise<number> {
  const { clients, appConfig } = wiring();
  const nowS = Math.floor(now / 1000);
  let expired = 0;
  const pages = paginateScan(
    { client: clients.ddb },
    {
      TableName: appConfig.tableName,
      FilterExpression: 'begins_with(pk, :i) AND #ttl < :now',
      ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ':i': keys.intentsUnder(), ':now': nowS },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      try {
        const del = await clients.ddb.send(
          new DeleteCommand({
            TableName: appConfig.tableName,
            Key: { pk: item.pk, sk: item.sk },
            ConditionExpression: '#ttl < :now',
            ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ':now': nowS },
            ReturnValues: 'ALL_OLD',
          }),
        );
        if (!del.Attributes) continue;
      } catch {
        continue; // consumed by a commit meanwhile
      }
      expired++;
      const event: DynamoDBStreamEvent = {
        Records: [
          {
            eventName: 'REMOVE',
            userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
            dynamodb: { OldImage: marshall(item) as never, SequenceNumber: String(now) },
          },
        ],
      };
      await reaper(event);
    }
  }
  return expired;
}
