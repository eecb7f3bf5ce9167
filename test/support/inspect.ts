import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { paginateScan, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { keys, VERSION_PREFIX } from '../../functions/adapters/dynamo-schema';
import { appDeps } from '../../functions/wiring';

/** Everything stored for one organization: S3 keys under `{org}/` and table items of it. */
export async function storedFor(
  org: string,
): Promise<{ objects: string[]; items: Record<string, unknown>[] }> {
  const { clients, appConfig } = appDeps();
  const objects: string[] = [];
  const listed = paginateListObjectsV2(
    { client: clients.s3 },
    { Bucket: appConfig.bucketName, Prefix: `${org}/` },
  );
  for await (const page of listed) for (const o of page.Contents ?? []) objects.push(o.Key!);
  const items: Record<string, unknown>[] = [];
  const scanned = paginateScan(
    { client: clients.ddb },
    {
      TableName: appConfig.tableName,
      FilterExpression: 'begins_with(pk, :b) OR begins_with(pk, :i)',
      ExpressionAttributeValues: { ':b': keys.tenantResources(org), ':i': keys.intentsUnder(`${org}/`) },
    },
  );
  for await (const page of scanned) items.push(...(page.Items ?? []));
  return { objects: objects.sort(), items };
}

/** True for an intent item (table layout: functions/adapters/dynamo-schema.ts). */
export const isIntentItem = (item: Record<string, unknown>) =>
  String(item.pk).startsWith(keys.intentsUnder());

/** All version items of one resource, oldest first. */
export async function versionsOf(org: string, id: string): Promise<Record<string, unknown>[]> {
  const { clients, appConfig } = appDeps();
  const out = await clients.ddb.send(
    new QueryCommand({
      TableName: appConfig.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':pk': keys.resource(org, id), ':v': VERSION_PREFIX },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}
