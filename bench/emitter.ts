import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { subscribe } from '../clients/subscriber';
import { versionItem } from '../functions/adapters/dynamo-schema';
import type { SnsPublisher } from '../functions/adapters/sns-publisher';
import type { NotificationPublisher, PublishOutcome } from '../functions/core/notification';
import type { VersionRecord } from '../functions/core/ports';
import { makeEmitter } from '../functions/handlers/emitter';
import { resetWiring, wiring } from '../functions/wiring';
import { EMITTER_BATCH_SIZE } from '../infra/events';
import { setLocalEnv } from '../local/env';
import { startMoto } from '../local/moto';
import { provision } from '../local/provision';
import { type Row, type Section, times } from './report';

/**
 * #14 item 4: notifications per second of the emitter on moto, before (one record at a time, one
 * SNS Publish each: the old emitter) and after (ten resources per SNS PublishBatch), and with ten
 * batches of the shard in flight at once (parallelization factor 10). Every notification reaches
 * an SQS subscriber in each mode (checked). Absolute numbers depend on the machine; the ratios are
 * the result.
 */
const RESOURCES = 200;
const VERSIONS = 3;
const N = RESOURCES * VERSIONS;

/** Stream records of N committed versions (1 KiB each), version 1 of every resource first. */
function records(org: string, blobKey: string): DynamoDBRecord[] {
  const out: DynamoDBRecord[] = [];
  for (let vid = 1; vid <= VERSIONS; vid++)
    for (let r = 0; r < RESOURCES; r++) {
      const rec: VersionRecord = {
        org,
        id: `r${r}`,
        vid,
        lastUpdated: new Date().toISOString(),
        method: vid === 1 ? 'POST' : 'PUT',
        created: vid === 1,
        deleted: false,
        resource: JSON.stringify({ resourceType: 'Binary', contentType: 'text/plain' }),
        contentType: 'text/plain',
        size: 1024,
        blobKey,
      };
      out.push({
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        dynamodb: {
          SequenceNumber: String(out.length + 1).padStart(21, '0'),
          NewImage: marshall(versionItem(rec), { removeUndefinedValues: true }) as never,
        },
      });
    }
  return out;
}

const chunks = <T>(xs: T[], n: number) =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n));

export async function run(): Promise<Section> {
  const moto = await startMoto();
  try {
    setLocalEnv(moto.endpoint, await provision(moto.endpoint));
    resetWiring();
    const w = wiring();
    const { bucketName, topicArn } = w.appConfig;
    const blobKey = 'bench/Binary/x/1-k';
    await w.clients.s3.send(
      new PutObjectCommand({ Bucket: bucketName, Key: blobKey, Body: Buffer.alloc(1024, 7) }),
    );
    const sub = await subscribe({ endpoint: moto.endpoint, topicArn: topicArn!, name: 'bench' });
    const sqs = new SQSClient({ endpoint: moto.endpoint, region: w.appConfig.region });
    const delivered = async () =>
      Number(
        (
          await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: sub.queueUrl,
              AttributeNames: ['ApproximateNumberOfMessages'],
            }),
          )
        ).Attributes?.ApproximateNumberOfMessages ?? 0,
      );
    let snsRequests = 0;
    w.sns.middlewareStack.add(
      (next) => (args) => {
        snsRequests++;
        return next(args);
      },
      { step: 'initialize' },
    );
    // The composition root's publisher (SnsPublisher), over the SNS client counted above.
    const sns = w.publisher as SnsPublisher;
    // The old emitter: one record at a time, one Publish per notification.
    const single: NotificationPublisher = {
      async publishAll(ns) {
        const out: PublishOutcome[] = [];
        for (const n of ns) out.push(await sns.publish(n).then(() => ({ ok: true }) as const));
        return out;
      },
    };
    const modes = [
      {
        name: 'before: Publish, 1 at a time',
        emit: makeEmitter({ blobs: w.blobs, publisher: single }, { batchSize: 1 }),
        parallel: 1,
      },
      {
        name: 'after: PublishBatch of 10',
        emit: makeEmitter({ blobs: w.blobs, publisher: sns }),
        parallel: 1,
      },
      {
        name: 'after, parallelization 10',
        emit: makeEmitter({ blobs: w.blobs, publisher: sns }),
        parallel: 10,
      },
    ];
    const rows: Row[] = [];
    let before = 0;
    for (const [i, m] of modes.entries()) {
      const batches = chunks(records(`bench${i}`, blobKey), EMITTER_BATCH_SIZE);
      snsRequests = 0;
      const t = performance.now();
      // `parallel` batches in flight at once, as Lambda runs them with a parallelization factor.
      for (const group of chunks(batches, m.parallel)) {
        const res = await Promise.all(group.map((b) => m.emit({ Records: b })));
        if (res.some((r) => r.batchItemFailures.length > 0)) throw new Error(`${m.name}: a batch failed`);
      }
      const s = (performance.now() - t) / 1000;
      const got = await delivered();
      if (got !== N) throw new Error(`${m.name}: ${got} of ${N} notifications reached the subscriber`);
      await sqs.send(new PurgeQueueCommand({ QueueUrl: sub.queueUrl }));
      const rate = N / s;
      if (i === 0) before = rate;
      rows.push({
        measure: `emitter, ${m.name}: ${N} notifications`,
        api: `${rate.toFixed(0)}/s, ${snsRequests} SNS requests, all delivered`,
        ...(i > 0 ? { ratio: `${times(rate / before)} vs one at a time` } : {}),
      });
    }
    await sub.close();
    return { title: 'Notifications: emitter throughput on the emulator (#14 item 4)', rows };
  } finally {
    await moto.stop();
  }
}
