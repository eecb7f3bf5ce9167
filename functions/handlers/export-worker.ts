import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { ExportMessage } from '../adapters/sqs-export-scheduler';
import { failExport, runExport } from '../core/export';
import { logger } from '../logger';
import { appDeps } from '../wiring';

/**
 * Deliveries of one message before its job is given up as failed (C35): the queue's
 * maxReceiveCount (infra) moves the message to the dead-letter queue after this many, and the
 * last delivery writes the job's error file so the client sees the failure in the manifest.
 */
export const EXPORT_MAX_ATTEMPTS = 3;
/** The worker's Lambda timeout; the queue's visibility timeout is set above it (infra). */
export const EXPORT_WORKER_TIMEOUT_SECONDS = 900;

/**
 * SQS → one slice of a bulk export (C35). Each message names a job; the worker writes files until
 * its time is nearly up (EXPORT_MARGIN_MS before the end), checkpoints, and sends the next message
 * to go on. A failed slice is retried by SQS (the message reappears) from the last checkpoint.
 */
export async function handler(event: SQSEvent, context: Pick<Context, 'getRemainingTimeInMillis'>) {
  const deps = appDeps();
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const { org, jobId } = JSON.parse(record.body) as ExportMessage;
    try {
      const result = await runExport(org, jobId, deps, () => context.getRemainingTimeInMillis());
      if (result === 'more') await deps.exportScheduler.schedule(org, jobId);
      logger.info('export slice', { organizationId: org, jobId, result });
    } catch (e) {
      const attempt = Number(record.attributes.ApproximateReceiveCount ?? '1');
      logger.error('export slice failed', { organizationId: org, jobId, attempt, error: e as Error });
      if (attempt >= EXPORT_MAX_ATTEMPTS) {
        await failExport(org, jobId, `The export stopped after ${attempt} failed attempts.`, deps);
      } else {
        failures.push({ itemIdentifier: record.messageId });
      }
    }
  }
  return { batchItemFailures: failures } satisfies SQSBatchResponse;
}
