import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { appDeps } from '../../functions/wiring';

/** Everything stored for one organization: S3 keys under `{org}/` and table items of it. */
export async function storedFor(
  org: string,
): Promise<{ objects: string[]; items: Record<string, unknown>[] }> {
  const { clients, appConfig } = appDeps();
  const objects: string[] = [];
  let token: string | undefined;
  do {
    const page = await clients.s3.send(
      new ListObjectsV2Command({ Bucket: appConfig.bucketName, Prefix: `${org}/`, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) objects.push(o.Key!);
    token = page.NextContinuationToken;
  } while (token);
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await clients.ddb.send(
      new ScanCommand({
        TableName: appConfig.tableName,
        FilterExpression: 'begins_with(pk, :b) OR begins_with(pk, :i)',
        ExpressionAttributeValues: { ':b': `B#${org}#`, ':i': `I#${org}/` },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return { objects: objects.sort(), items };
}

/** All version items of one resource, oldest first. */
export async function versionsOf(org: string, id: string): Promise<Record<string, unknown>[]> {
  const { clients, appConfig } = appDeps();
  const out = await clients.ddb.send(
    new QueryCommand({
      TableName: appConfig.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':pk': `B#${org}#${id}`, ':v': 'V#' },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}
