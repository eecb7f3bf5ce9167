import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { handler as reaper } from '../functions/handlers/reaper';
import { appDeps } from '../functions/http/deps';

/**
 * moto never expires TTL items (docs/ARCHITECTURE.md), so locally this plays DynamoDB's TTL: it
 * deletes expired intent items and hands the reaper Lambda the REMOVE record TTL would stream.
 * Returns how many intents expired.
 */
export async function sweepExpiredIntents(now = Date.now()): Promise<number> {
  const { clients, appConfig } = appDeps();
  const nowS = Math.floor(now / 1000);
  let expired = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await clients.ddb.send(
      new ScanCommand({
        TableName: appConfig.tableName,
        FilterExpression: 'begins_with(pk, :i) AND #ttl < :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':i': 'I#', ':now': nowS },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      try {
        const del = await clients.ddb.send(
          new DeleteCommand({
            TableName: appConfig.tableName,
            Key: { pk: item.pk, sk: item.sk },
            ConditionExpression: '#ttl < :now',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
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
    start = page.LastEvaluatedKey;
  } while (start);
  return expired;
}
