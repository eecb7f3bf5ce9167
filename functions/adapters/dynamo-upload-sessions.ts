import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { UploadSession, UploadSessionStore } from '../core/upload-ports';

/**
 * Upload sessions in the service's table: pk `U#{uploadId}`, sk `U`, with `ttl` so DynamoDB
 * forgets abandoned ones. The bytes of an abandoned upload are reclaimed through its intent
 * item (`I#{blobKey}`, see dynamo-repository.ts), not through the session.
 */
const key = (uploadId: string) => ({ pk: `U#${uploadId}`, sk: 'U' });

export class DynamoUploadSessions implements UploadSessionStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(session: UploadSession): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...key(session.uploadId), kind: 'upload', ...session, ttl: session.expiresAt },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(uploadId: string): Promise<UploadSession | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.table, Key: key(uploadId), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, kind: _k, ttl: _t, ...session } = out.Item;
    return session as UploadSession;
  }

  async mark(uploadId: string, progress: Pick<UploadSession, 'assembled' | 'verified'>): Promise<void> {
    const names = Object.keys(progress).filter((k) => progress[k as keyof typeof progress] !== undefined);
    if (names.length === 0) return;
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.table,
        Key: key(uploadId),
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
    await this.ddb.send(new DeleteCommand({ TableName: this.table, Key: key(uploadId) }));
  }
}
