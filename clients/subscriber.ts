import { randomUUID } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { EXTENDED_PAYLOAD_SIZE, PAYLOAD_POINTER_CLASS } from '../functions/adapters/sns-publisher';

export interface SubscriberOptions {
  endpoint?: string;
  region?: string;
  topicArn: string;
  /** Only this tenant's notifications: an SNS filter policy on `organizationId`. */
  org?: string;
  /** Queue name prefix. */
  name?: string;
}

/** A notification as a subscriber sees it (C36): attributes, and the body resolved and parsed. */
export interface ReceivedNotification {
  attributes: Record<string, string>;
  /** The Binary (FullResource) or `Binary/{id}` (NameOnly); offloaded bodies already fetched. */
  body: unknown;
  /** The SQS message body as delivered: the pointer when the body was offloaded (C34). */
  raw: string;
}

export interface Subscriber {
  queueUrl: string;
  subscriptionArn: string;
  /** Long-polls once (up to `waitSeconds`), deletes what it got, returns it. */
  receive(waitSeconds?: number, signal?: AbortSignal): Promise<ReceivedNotification[]>;
  /** Unsubscribes and deletes the queue. */
  close(): Promise<void>;
}

/** The SNS filter policy that routes one tenant's notifications to a subscription (C32). */
export const tenantFilterPolicy = (org: string) => ({ organizationId: [org] });

/**
 * An SQS queue subscribed to the topic with raw message delivery, the way a subscriber service
 * would: the message attributes arrive as SQS attributes and the body is the SNS message.
 */
export async function subscribe(o: SubscriberOptions): Promise<Subscriber> {
  const common = {
    region: o.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
  };
  const sqs = new SQSClient(common);
  const sns = new SNSClient(common);
  const s3 = new S3Client({ ...common, forcePathStyle: o.endpoint !== undefined });
  const queueName = `${o.name ?? 'events'}-${randomUUID().slice(0, 8)}`;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  const queueUrl = QueueUrl!;
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = attrs.Attributes!.QueueArn!;
  // On AWS the topic needs the queue's permission; emulators ignore it, harmlessly.
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: queueArn,
              Condition: { ArnEquals: { 'aws:SourceArn': o.topicArn } },
            },
          ],
        }),
      },
    }),
  );
  const sub = await sns.send(
    new SubscribeCommand({
      TopicArn: o.topicArn,
      Protocol: 'sqs',
      Endpoint: queueArn,
      ReturnSubscriptionArn: true,
      Attributes: {
        RawMessageDelivery: 'true',
        ...(o.org ? { FilterPolicy: JSON.stringify(tenantFilterPolicy(o.org)) } : {}),
      },
    }),
  );
  const subscriptionArn = sub.SubscriptionArn!;

  async function resolve(raw: string, attributes: Record<string, string>): Promise<unknown> {
    let text = raw;
    if (attributes[EXTENDED_PAYLOAD_SIZE] !== undefined) {
      const [cls, ptr] = JSON.parse(raw) as [string, { s3BucketName: string; s3Key: string }];
      if (cls !== PAYLOAD_POINTER_CLASS) throw new Error(`not an S3 payload pointer: ${raw.slice(0, 200)}`);
      const obj = await s3.send(new GetObjectCommand({ Bucket: ptr.s3BucketName, Key: ptr.s3Key }));
      text = (await obj.Body?.transformToString('utf-8')) ?? '';
    }
    return attributes.payloadType === 'FullResource' ? JSON.parse(text) : text;
  }

  return {
    queueUrl,
    subscriptionArn,
    async receive(waitSeconds = 1, signal?: AbortSignal) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: waitSeconds,
          MessageAttributeNames: ['All'],
        }),
        signal ? { abortSignal: signal } : {},
      );
      const messages = out.Messages ?? [];
      const received: ReceivedNotification[] = [];
      for (const m of messages) {
        const attributes = Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
        );
        received.push({ attributes, body: await resolve(m.Body ?? '', attributes), raw: m.Body ?? '' });
      }
      if (messages.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
      return received;
    },
    async close() {
      try {
        await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn }));
      } finally {
        await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
        sqs.destroy();
        sns.destroy();
        s3.destroy();
      }
    },
  };
}
