import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { BlobIntent, CommitOptions, VersionRecord, VersionRepository } from '../core/ports';
import { VersionConflictError } from '../core/ports';

/**
 * Table layout (one table):
 * - head of a resource:    pk `B#{org}#{id}`, sk `HEAD`      — the current version's record
 * - each version:          pk `B#{org}#{id}`, sk `V#{vid:10}` — immutable, streamed to the emitter
 * - intent of staged bytes: pk `I#{blobKey}`, sk `I`, ttl     — consumed by the commit
 * GSI `byTenant` (tpk = org, tsk = `{lastUpdated}#{id}#{vid:10}`) on version items: type history.
 * GSI `currentByTenant` (cpk = org, csk = `{lastUpdated}#{id}`) on heads that are not deleted:
 * search by _lastUpdated; a delete drops the head out of it, so deleted resources never match.
 */
export const keys = {
  resource: (org: string, id: string) => `B#${org}#${id}`,
  version: (vid: number) => `V#${String(vid).padStart(10, '0')}`,
  head: 'HEAD',
  intent: (blobKey: string) => ({ pk: `I#${blobKey}`, sk: 'I' }),
};
export const INDEX_BY_TENANT = 'byTenant';
export const INDEX_CURRENT_BY_TENANT = 'currentByTenant';

const RECORD_FIELDS = [
  'org',
  'id',
  'vid',
  'lastUpdated',
  'method',
  'created',
  'deleted',
  'resource',
  'contentType',
  'securityContext',
  'language',
  'size',
  'blobKey',
  'sha256',
] as const;

/** Picks the VersionRecord out of a stored item (heads and versions carry the same fields). */
export function recordFromItem(item: Record<string, unknown>): VersionRecord {
  const out: Record<string, unknown> = {};
  for (const f of RECORD_FIELDS) if (item[f] !== undefined) out[f] = item[f];
  return out as unknown as VersionRecord;
}

export function versionItem(r: VersionRecord): Record<string, unknown> {
  return {
    ...r,
    pk: keys.resource(r.org, r.id),
    sk: keys.version(r.vid),
    tpk: r.org,
    tsk: `${r.lastUpdated}#${r.id}#${String(r.vid).padStart(10, '0')}`,
  };
}

export function headItem(r: VersionRecord): Record<string, unknown> {
  return {
    ...r,
    pk: keys.resource(r.org, r.id),
    sk: keys.head,
    ...(r.deleted ? {} : { cpk: r.org, csk: `${r.lastUpdated}#${r.id}` }),
  };
}

export class DynamoVersionRepository implements VersionRepository {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async current(org: string, id: string): Promise<VersionRecord | undefined> {
    const out = await this.ddb.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.resource(org, id), sk: keys.head },
        ConsistentRead: true,
      }),
    );
    return out.Item ? recordFromItem(out.Item) : undefined;
  }

  async version(org: string, id: string, vid: number): Promise<VersionRecord | undefined> {
    const out = await this.ddb.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.resource(org, id), sk: keys.version(vid) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? recordFromItem(out.Item) : undefined;
  }

  async commit(record: VersionRecord, { expectedVid, intentKey }: CommitOptions): Promise<void> {
    const head =
      expectedVid === 0
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: 'vid = :expected', ExpressionAttributeValues: { ':expected': expectedVid } };
    try {
      await this.ddb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: versionItem(record),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            { Put: { TableName: this.table, Item: headItem(record), ...head } },
            ...(intentKey
              ? [
                  {
                    Delete: {
                      TableName: this.table,
                      Key: keys.intent(intentKey),
                      ConditionExpression: 'attribute_exists(pk)',
                    },
                  },
                ]
              : []),
          ],
        }),
      );
    } catch (e) {
      if (e instanceof TransactionCanceledException || (e as Error).name === 'TransactionCanceledException') {
        const reasons = (e as TransactionCanceledException).CancellationReasons ?? [];
        if (
          reasons.length === 0 ||
          reasons.some((r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict')
        ) {
          throw new VersionConflictError();
        }
      }
      if ((e as Error).name === 'TransactionConflictException') throw new VersionConflictError();
      throw e;
    }
  }

  async putIntent(intent: BlobIntent): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...keys.intent(intent.blobKey),
          kind: 'intent',
          blobKey: intent.blobKey,
          org: intent.org,
          id: intent.id,
          ttl: intent.expiresAt,
          ...(intent.multipartUploadId ? { multipartUploadId: intent.multipartUploadId } : {}),
        },
      }),
    );
  }

  async dropIntent(blobKey: string): Promise<void> {
    await this.ddb.send(new DeleteCommand({ TableName: this.table, Key: keys.intent(blobKey) }));
  }

  async isCommitted(org: string, id: string, blobKey: string): Promise<boolean> {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
          FilterExpression: 'blobKey = :k',
          ExpressionAttributeValues: { ':pk': keys.resource(org, id), ':v': 'V#', ':k': blobKey },
          ProjectionExpression: 'sk',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      if ((out.Items?.length ?? 0) > 0) return true;
      start = out.LastEvaluatedKey;
    } while (start);
    return false;
  }
}
