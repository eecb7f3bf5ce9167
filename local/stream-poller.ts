import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { clientOptions } from '../functions/adapters/clients';
import { isCheckpointKey, keys } from '../functions/adapters/dynamo-schema';
import { wiring } from '../functions/wiring';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamPollerOptions {
  /** The Lambda handler to drive (the emitter). */
  handler: StreamHandler;
  /**
   * Name of this consumer: its checkpoint is an item of the table per shard (`keys.checkpoint`),
   * so a restarted poller of the same name resumes where the last one stopped.
   * @default 'emitter'
   */
  name?: string;
  /** Lambda event filtering: records it rejects count as processed and never reach the handler. */
  filter?: (record: DynamoDBRecord) => boolean;
  /** @default 100 (Lambda's default batch size for DynamoDB streams) */
  batchSize?: number;
  /** Pause when the shard has nothing new. @default 200 */
  idleMs?: number;
  log?: (msg: string) => void;
}

export interface StreamPoller {
  /** Finishes the batch in flight (if any) and stops; the checkpoint is kept. */
  stop(): Promise<void>;
  /**
   * Simulates the process dying: returns at once, and whatever the batch in flight does after
   * this is never checkpointed, as if the machine had gone away mid-batch.
   */
  kill(): void;
}

const isCheckpoint = (r: _Record) => isCheckpointKey(r.dynamodb?.Keys?.pk?.S);

/** The SDK's stream record in the shape Lambda hands to a DynamoDB stream handler. */
function toLambdaRecord(r: _Record, streamArn: string, region: string): DynamoDBRecord {
  const d = r.dynamodb ?? {};
  return {
    eventID: r.eventID,
    eventName: r.eventName,
    eventVersion: r.eventVersion,
    eventSource: 'aws:dynamodb',
    eventSourceARN: streamArn,
    awsRegion: region,
    ...(r.userIdentity ? { userIdentity: r.userIdentity } : {}),
    dynamodb: {
      ...(d as Omit<typeof d, 'ApproximateCreationDateTime'>),
      ApproximateCreationDateTime: d.ApproximateCreationDateTime
        ? Math.floor(d.ApproximateCreationDateTime.getTime() / 1000)
        : undefined,
    } as DynamoDBRecord['dynamodb'],
  };
}

/**
 * Plays Lambda's DynamoDB event source mapping locally (moto streams): reads each shard in
 * order, hands batches to the handler, honours `batchItemFailures` (re-reads from the first
 * failed record; the records before it are checkpointed and not handed over again), retries a
 * batch whose handler threw, and persists a checkpoint after every handled batch so that a killed
 * and restarted poller loses no record (at least once: a kill between publishing and the
 * checkpoint re-delivers that batch).
 */
export function startStreamPoller(o: StreamPollerOptions): StreamPoller {
  // Table, stream and clients from the composition root; only the streams client is the poller's
  // own (no Lambda function reads a stream itself).
  const { appConfig, clients } = wiring();
  const streamArn = appConfig.tableStreamArn;
  const table = appConfig.tableName;
  if (!streamArn) throw new Error('TABLE_STREAM_ARN must be set');
  const region = appConfig.region;
  const streams = new DynamoDBStreamsClient(clientOptions(appConfig));
  const ddb = clients.ddb;
  const name = o.name ?? 'emitter';
  const batchSize = o.batchSize ?? 100;
  const idleMs = o.idleMs ?? 200;
  const log = o.log ?? (() => {});
  const iterators = new Map<string, string | undefined>();
  const failures = new Map<string, number>();
  let stopped = false;
  let killed = false;
  let wake: (() => void) | undefined;

  const checkpointKey = (shardId: string) => keys.checkpoint(name, shardId);

  async function loadCheckpoint(shardId: string): Promise<string | undefined> {
    const out = await ddb.send(
      new GetCommand({ TableName: table, Key: checkpointKey(shardId), ConsistentRead: true }),
    );
    return typeof out.Item?.seq === 'string' ? out.Item.seq : undefined;
  }

  async function saveCheckpoint(shardId: string, seq: string): Promise<void> {
    if (killed) return;
    await ddb.send(new PutCommand({ TableName: table, Item: { ...checkpointKey(shardId), seq } }));
  }

  async function iteratorAt(shardId: string, at?: string): Promise<string | undefined> {
    const after = at === undefined ? await loadCheckpoint(shardId) : undefined;
    const out = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ...(at !== undefined
          ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: at }
          : after !== undefined
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return out.ShardIterator;
  }

  /** One batch of one shard; true when it did some work. */
  async function pollShard(shardId: string): Promise<boolean> {
    let iterator = iterators.get(shardId) ?? (await iteratorAt(shardId));
    if (!iterator) return false;
    const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }));
    const records = out.Records ?? [];
    if (records.length === 0) {
      iterators.set(shardId, out.NextShardIterator);
      return false;
    }
    const lambdaRecords = records.map((r) => toLambdaRecord(r, streamArn!, region));
    const batch = o.filter ? lambdaRecords.filter(o.filter) : lambdaRecords;
    let failedSeq: string | undefined;
    if (batch.length > 0) {
      try {
        const res = await o.handler({ Records: batch });
        failedSeq = res?.batchItemFailures?.[0]?.itemIdentifier;
      } catch (e) {
        // A crashed invocation: nothing of the batch is checkpointed; it is retried whole.
        iterators.delete(shardId);
        await backoff(shardId, `${name}: batch failed (${(e as Error).message}); retrying it`);
        return true;
      }
    }
    const seqs = records.map((r) => r.dynamodb?.SequenceNumber ?? '');
    if (failedSeq !== undefined) {
      const i = seqs.indexOf(failedSeq);
      if (i < 0) throw new Error(`handler reported an unknown sequence number ${failedSeq}`);
      if (i > 0) await saveCheckpoint(shardId, seqs[i - 1]!);
      iterator = await iteratorAt(shardId, failedSeq);
      iterators.set(shardId, iterator);
      await backoff(shardId, `${name}: record ${failedSeq} failed; retrying from it`);
      return true;
    }
    failures.delete(shardId);
    // Our own checkpoint writes stream too: a batch of nothing but checkpoints is not worth a
    // write (which would stream again, forever). Restarting re-reads them, harmlessly.
    if (!records.every(isCheckpoint)) await saveCheckpoint(shardId, seqs[seqs.length - 1]!);
    iterators.set(shardId, out.NextShardIterator);
    return true;
  }

  async function backoff(shardId: string, msg: string) {
    const n = (failures.get(shardId) ?? 0) + 1;
    failures.set(shardId, n);
    log(msg);
    await sleep(Math.min(100 * 2 ** (n - 1), 5000));
  }

  function sleep(ms: number) {
    return new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  async function loop() {
    while (!stopped) {
      let busy = false;
      try {
        const desc = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
        for (const shard of desc.StreamDescription?.Shards ?? []) {
          if (stopped) break;
          if (shard.ShardId && (await pollShard(shard.ShardId))) busy = true;
        }
      } catch (e) {
        log(`${name}: stream poll failed: ${(e as Error).message}`);
        iterators.clear();
      }
      if (!busy && !stopped) await sleep(idleMs);
    }
  }

  const running = loop().finally(() => streams.destroy());
  return {
    async stop() {
      stopped = true;
      wake?.();
      await running;
    },
    kill() {
      killed = true;
      stopped = true;
      wake?.();
    },
  };
}
