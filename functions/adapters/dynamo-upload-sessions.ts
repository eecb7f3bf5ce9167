import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { UploadProgress, UploadSession, UploadSessionStore } from '../core/upload-ports';
import { keys, sessionFromItem, sessionItem } from './dynamo-schema';

/**
 * Upload sessions in the service's table (item layout in dynamo-schema.ts), with a TTL so
 * DynamoDB forgets abandoned ones. The bytes of an abandoned upload are reclaimed through its
 * intent item, not through the session.
 */
export class DynamoUploadSessions implements UploadSessionStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(session: UploadSession): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.table,
        Item: sessionItem(session),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(uploadId: string): Promise<UploadSession | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.table, Key: keys.upload(uploadId), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    return sessionFromItem(out.Item);
  }

  async mark(uploadId: string, progress: UploadProgress): Promise<void> {
    const names = Object.keys(progress).filter((k) => progress[k as keyof typeof progress] !== undefined);
    if (names.length === 0) return;
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.upload(uploadId),
        UpdateExpression: `SET ${names.map((n) => `#${n} = :${n}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((n) => [`#${n}`, n])),
        ExpressionAttributeValues: Object.fromEntries(
          names.map((n) => [`:${n}`, progress[n as keyof typeof progress]]),
        ),
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  async delete(uploadId: string): Promise<void> {
    await this.ddb.send(new DeleteCommand({ TableName: this.table, Key: keys.upload(uploadId) }));
  }
}
