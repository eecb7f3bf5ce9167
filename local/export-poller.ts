import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { EXPORT_WORKER_TIMEOUT_SECONDS } from '../functions/handlers/export-worker';
import { wiring } from '../functions/wiring';

export type ExportWorker = (
  event: SQSEvent,
  context: { getRemainingTimeInMillis(): number },
) => Promise<SQSBatchResponse>;

export interface ExportPollerOptions {
  /** The Lambda handler to drive (functions/handlers/export-worker.ts). */
  handler: ExportWorker;
  queueUrl: string;
  /** Milliseconds each invocation gets, like the function's timeout. @default 900 s */
  budgetMs?: number;
  /** Seconds before a failed message is delivered again (the visibility timeout on AWS). @default 1 */
  retrySeconds?: number;
  log?: (msg: string) => void;
}

export interface ExportPoller {
  /** Finishes the invocation in flight, then stops. */
  stop(): Promise<void>;
}

/**
 * Stands in for Lambda's SQS event source mapping of the export worker: receives one message at a
 * time from the export queue, invokes the worker with an SQS event and a clock that runs out after
 * `budgetMs`, deletes the message unless the worker reports it failed, and lets a failed one
 * reappear after `retrySeconds` (ApproximateReceiveCount counts the deliveries, as on AWS).
 */
export function startExportPoller(o: ExportPollerOptions): ExportPoller {
  const { sqs, appConfig } = wiring();
  const budgetMs = o.budgetMs ?? EXPORT_WORKER_TIMEOUT_SECONDS * 1000;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      let messages: Message[] = [];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: o.queueUrl,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: 1,
            VisibilityTimeout: Math.ceil(budgetMs / 1000) + 30,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          }),
        );
        messages = out.Messages ?? [];
      } catch (e) {
        if (stopped) break;
        o.log?.(`export poller: receive failed: ${e}`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      for (const m of messages) await invoke(m);
    }
  })();

  async function invoke(m: Message): Promise<void> {
    const deadline = Date.now() + budgetMs;
    const record = {
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? '',
      attributes: m.Attributes ?? {},
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: o.queueUrl,
      awsRegion: appConfig.region,
    } as unknown as SQSRecord;
    let failed = true;
    try {
      const out = await o.handler(
        { Records: [record] },
        { getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0) },
      );
      failed = out.batchItemFailures.some((f) => f.itemIdentifier === m.MessageId);
    } catch (e) {
      o.log?.(`export worker failed: ${e}`);
    }
    const ReceiptHandle = m.ReceiptHandle!;
    if (failed) {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: o.queueUrl,
          ReceiptHandle,
          VisibilityTimeout: o.retrySeconds ?? 1,
        }),
      );
    } else {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: o.queueUrl, ReceiptHandle }));
    }
  }

  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
