import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { BlobIntent, CommitOptions, VersionRecord, VersionRepository } from '../core/ports';
import { VersionConflictError } from '../core/ports';
import {
  headItem,
  intentItem,
  keys,
  recordFromItem,
  TTL_ATTRIBUTE,
  VERSION_PREFIX,
  versionItem,
} from './dynamo-schema';

/**
 * The write path on the table (item layout in dynamo-schema.ts): heads, immutable versions and
 * intents; a commit is one transaction over the three (docs/ARCHITECTURE.md, The commit protocol).
 */
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
            {
              Put: {
                TableName: this.table,
                Item: headItem(record),
                ...head,
                // A lost race returns the winning head, so the retry need not read it again.
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
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
          const won = reasons[1]?.Code === 'ConditionalCheckFailed' ? reasons[1].Item : undefined;
          throw new VersionConflictError(won ? recordFromItem(unmarshall(won)) : undefined);
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
        Item: intentItem(intent),
      }),
    );
  }

  async expireIntent(blobKey: string, at: number): Promise<void> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.intent(blobKey),
          UpdateExpression: 'SET #ttl = :at',
          // Never re-creates an intent a commit consumed (UpdateItem would otherwise add one).
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
  }

  async isCommitted(org: string, id: string, blobKey: string): Promise<boolean> {
    const pages = paginateQuery(
      { client: this.ddb },
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        FilterExpression: 'blobKey = :k',
        ExpressionAttributeValues: { ':pk': keys.resource(org, id), ':v': VERSION_PREFIX, ':k': blobKey },
        ProjectionExpression: 'sk',
        ConsistentRead: true,
      },
    );
    for await (const page of pages) if ((page.Items?.length ?? 0) > 0) return true;
    return false;
  }
}
