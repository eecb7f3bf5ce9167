import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ExportScheduler } from '../core/export-ports';

/** The worker's message: which job to go on with. */
export interface ExportMessage {
  org: string;
  jobId: string;
}

/** Schedules export worker invocations as messages on the export queue (C35). */
export class SqsExportScheduler implements ExportScheduler {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async schedule(org: string, jobId: string, delaySeconds = 0): Promise<void> {
    const message: ExportMessage = { org, jobId };
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: Math.min(Math.max(Math.round(delaySeconds), 0), 900),
      }),
    );
  }
}
