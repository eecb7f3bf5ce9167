import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { committedVersion } from '../adapters/dynamo-schema';
import {
  buildNotification,
  NOTIFICATION_BATCH,
  type NotificationPublisher,
  nextBatch,
  type PublishOutcome,
} from '../core/notification';
import type { BlobStore, VersionRecord } from '../core/ports';
import { logger } from '../logger';
import { wiring } from '../wiring';

export interface EmitterDeps {
  blobs: Pick<BlobStore, 'get'>;
  publisher: NotificationPublisher;
}

/**
 * Time the emitter keeps in hand: it starts no further batch with less than this left before its
 * timeout (a batch reads at most ten versions of ≤ 10 MiB and makes one PublishBatch call), and
 * reports the rest as batch item failures instead of being killed mid-batch.
 */
export const EMITTER_RESERVE_MS = 10_000;

interface Pending {
  seq: string;
  record: VersionRecord;
}

/**
 * DynamoDB stream (NEW_AND_OLD_IMAGES) → one SNS notification per committed version (C32–C34).
 *
 * Notifications go out in batches (`nextBatch`): the earliest pending version of up to ten
 * different resources, their notifications built in parallel and sent with one SNS
 * `PublishBatch`. A resource's versions are published in order, each after the one before.
 *
 * What the handler expects from its event source mapping (the CDK stack configures it):
 * - `ReportBatchItemFailures` on. When a notification fails, the handler stops and reports the
 *   earliest record not yet published, so Lambda retries from it: what came before is not
 *   published again; what came after and went out in the same batch may be (at least once;
 *   duplicates carry the same `versionId` so subscribers can dedupe). It does the same when less
 *   than `reserveMs` of its time is left.
 * - A parallelization factor > 1 is safe: DynamoDB Streams keeps the records of one partition key
 *   (one resource) in order within one concurrent batch.
 * - `bisectBatchOnFunctionError` and a bounded `retryAttempts` / `maxRecordAge`, with an
 *   on-failure destination (SQS queue) that receives the poison record's stream coordinates.
 * - Which records are notifications is decided by `committedVersion` (dynamo-schema.ts).
 * - Optionally an event filter on INSERTs of version items (infra/events.ts builds it from the
 *   schema's prefixes); the same check is repeated here.
 */
export function makeEmitter(deps: EmitterDeps, o: { batchSize?: number; reserveMs?: number } = {}) {
  const batchSize = o.batchSize ?? NOTIFICATION_BATCH;
  const reserveMs = o.reserveMs ?? EMITTER_RESERVE_MS;
  const resourceOf = (p: Pending) => `${p.record.org}/${p.record.id}`;
  return async (
    event: DynamoDBStreamEvent,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<DynamoDBBatchResponse> => {
    let pending: Pending[] = [];
    for (const r of event.Records) {
      const record = committedVersion(r);
      if (record) pending.push({ seq: r.dynamodb?.SequenceNumber ?? '', record });
    }
    while (pending.length > 0) {
      if (context && context.getRemainingTimeInMillis() < reserveMs) {
        logger.warn('time is running out: the rest of the batch is retried', { pending: pending.length });
        break;
      }
      const batch = nextBatch(pending, resourceOf, batchSize);
      const built = await Promise.allSettled(
        batch.map((p) => buildNotification(p.record, (key) => deps.blobs.get(key))),
      );
      const ready = built.flatMap((b, i) => (b.status === 'fulfilled' ? [{ i, n: b.value }] : []));
      const outcomes: PublishOutcome[] =
        ready.length === 0
          ? []
          : await deps.publisher
              .publishAll(ready.map((x) => x.n))
              .catch((e: unknown) => ready.map(() => ({ ok: false, error: String(e) })));
      const published = new Set<Pending>();
      ready.forEach(({ i, n }, k) => {
        if (outcomes[k]?.ok) {
          published.add(batch[i]!);
          logger.info('notification published', { ...n.attributes });
        }
      });
      batch.forEach((p, i) => {
        if (published.has(p)) return;
        const b = built[i]!;
        const error = b.status === 'rejected' ? (b.reason as Error) : new Error(errorOf(outcomes, ready, i));
        logger.error('notification failed', {
          organizationId: p.record.org,
          resourceId: p.record.id,
          versionId: p.record.vid,
          error,
        });
      });
      pending = pending.filter((p) => !published.has(p));
      if (published.size < batch.length) break;
    }
    // The earliest record not published: Lambda retries the batch from it.
    return { batchItemFailures: pending.length > 0 ? [{ itemIdentifier: pending[0]!.seq }] : [] };
  };
}

function errorOf(outcomes: PublishOutcome[], ready: { i: number }[], i: number): string {
  const k = ready.findIndex((r) => r.i === i);
  const o = outcomes[k];
  return o && !o.ok ? o.error : 'not published';
}

let emitter: ReturnType<typeof makeEmitter> | undefined;

/** The Lambda entry point: adapters from the composition root, on first use. */
export function handler(
  event: DynamoDBStreamEvent,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<DynamoDBBatchResponse> {
  if (!emitter) {
    const w = wiring();
    emitter = makeEmitter({ blobs: w.blobs, publisher: w.publisher });
  }
  return emitter(event, context);
}
