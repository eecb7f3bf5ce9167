import type { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { ExportJob, ExportJobStore } from '../core/export-ports';
import { keys, TTL_ATTRIBUTE } from './dynamo-schema';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const JOB_FIELDS = [
  'org',
  'jobId',
  'status',
  'request',
  'since',
  'transactionTime',
  'cursor',
  'files',
  'error',
  'expiresAt',
] as const;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Export jobs (C35) as items of the service table (layout in dynamo-schema.ts). A tenant's
 * running export holds the tenant's lock item; the lock carries an expiry the worker renews at
 * every checkpoint, so a job whose worker vanished stops blocking new kick-offs.
 */
export class DynamoExportJobs implements ExportJobStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async start(job: ExportJob, lockSeconds: number): Promise<boolean> {
    const now = nowSeconds();
    return this.transact([
      {
        Put: {
          TableName: this.table,
          Item: this.lockItem(job, now + lockSeconds),
          ConditionExpression: 'attribute_not_exists(pk) OR lockUntil < :now',
          ExpressionAttributeValues: { ':now': now },
        },
      },
      {
        Put: {
          TableName: this.table,
          Item: this.jobItem(job),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ]);
  }

  async get(org: string, jobId: string): Promise<ExportJob | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.table, Key: keys.exportJob(org, jobId), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    const job: Record<string, unknown> = {};
    for (const f of JOB_FIELDS) if (out.Item[f] !== undefined) job[f] = out.Item[f];
    return job as unknown as ExportJob;
  }

  checkpoint(job: ExportJob, lockSeconds: number): Promise<boolean> {
    const lockKey = keys.exportLock(job.org);
    const ours = { ConditionExpression: 'jobId = :job', ExpressionAttributeValues: { ':job': job.jobId } };
    const lock: TransactItem =
      job.status === 'running'
        ? { Put: { TableName: this.table, Item: this.lockItem(job, nowSeconds() + lockSeconds), ...ours } }
        : { Delete: { TableName: this.table, Key: lockKey, ...ours } };
    return this.transact([
      {
        Put: {
          TableName: this.table,
          Item: this.jobItem(job),
          ConditionExpression: '#status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':running': 'running' },
        },
      },
      lock,
    ]);
  }

  async remove(org: string, jobId: string): Promise<void> {
    await this.ddb.send(new DeleteCommand({ TableName: this.table, Key: keys.exportJob(org, jobId) }));
    try {
      await this.ddb.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keys.exportLock(org),
          ConditionExpression: 'jobId = :job',
          ExpressionAttributeValues: { ':job': jobId },
        }),
      );
    } catch (e) {
      // The lock already belongs to no job or to a newer one: nothing of this job's to release.
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
  }

  private jobItem(job: ExportJob): Record<string, unknown> {
    return { ...keys.exportJob(job.org, job.jobId), ...job, [TTL_ATTRIBUTE]: job.expiresAt };
  }

  private lockItem(job: ExportJob, lockUntil: number): Record<string, unknown> {
    return { ...keys.exportLock(job.org), jobId: job.jobId, lockUntil, [TTL_ATTRIBUTE]: lockUntil };
  }

  /** True when the transaction applied; false when one of its conditions did not hold. */
  private async transact(items: TransactItem[]): Promise<boolean> {
    try {
      await this.ddb.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (e) {
      const reasons = (e as TransactionCanceledException).CancellationReasons ?? [];
      if (
        (e as Error).name === 'TransactionCanceledException' &&
        reasons.some((r) => r.Code === 'ConditionalCheckFailed')
      )
        return false;
      throw e;
    }
  }
}
