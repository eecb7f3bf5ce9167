import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  type MessageAttributeValue,
  PublishBatchCommand,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { SERVICE_KEY_PREFIX } from '../core/ids';
import {
  NOTIFICATION_BATCH,
  type Notification,
  type NotificationAttributes,
  type NotificationPublisher,
  type PublishOutcome,
} from '../core/notification';
import { type AwsTarget, clientOptions } from './clients';

/** SNS's limit for one message: body plus every attribute's name, type and value, in bytes. */
export const SNS_MAX_MESSAGE_BYTES = 262_144;

/** The class name the AWS extended clients (Java, Python, JS) write in their S3 pointer. */
export const PAYLOAD_POINTER_CLASS = 'software.amazon.payloadoffloading.PayloadS3Pointer';

/** Attribute the extended clients set on offloaded messages: the size of the real body. */
export const EXTENDED_PAYLOAD_SIZE = 'ExtendedPayloadSize';

/**
 * Prefix of offloaded bodies in the data bucket. Organization ids cannot start with `_` (C1), so
 * these keys never meet a tenant's `{org}/Binary/…` keys.
 */
export const EVENTS_PREFIX = `${SERVICE_KEY_PREFIX}events/`;

/** One key per version, so a retried publication overwrites its own object instead of adding one. */
export const offloadKey = (a: Pick<NotificationAttributes, 'organizationId' | 'resourceId' | 'versionId'>) =>
  `${EVENTS_PREFIX}${a.organizationId}/${a.resourceId}/${a.versionId}.json`;

export function messageAttributes(a: NotificationAttributes): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(a).map(([k, v]) => [k, { DataType: 'String', StringValue: String(v) }]),
  );
}

/** The size SNS charges against its limit: UTF-8 bytes of the body and of each attribute. */
export function snsMessageSize(body: string, attributes: Record<string, MessageAttributeValue>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, v] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(v.DataType ?? '', 'utf8');
    size += Buffer.byteLength(v.StringValue ?? '', 'utf8') + (v.BinaryValue?.length ?? 0);
  }
  return size;
}

export function makeSnsClient(config: AwsTarget): SNSClient {
  return new SNSClient(clientOptions(config));
}

/** One SNS message: the body to send (or its S3 pointer) and its attributes. */
interface Message {
  message: string;
  attributes: Record<string, MessageAttributeValue>;
  size: number;
}

/**
 * Groups messages into `PublishBatch` requests: at most `maxEntries` each, and at most `maxBytes`
 * of messages and attributes together (SNS's limit applies to the whole batch). Keeps the order.
 */
export function packBatches<T extends { size: number }>(
  items: T[],
  maxEntries: number,
  maxBytes: number,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length === maxEntries || bytes + item.size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Publishes notifications to the topic (C32), several at a time with `PublishBatch` (C32, #14
 * item 4). A message over SNS's limit (C34) is stored in S3 first and replaced by the
 * extended-client pointer with `ExtendedPayloadSize`, which is what the SNS/SQS extended clients
 * write, so their subscribers resolve it without code of ours.
 */
export class SnsPublisher implements NotificationPublisher {
  constructor(
    private readonly sns: SNSClient,
    private readonly s3: S3Client,
    private readonly topicArn: string,
    private readonly bucket: string,
    private readonly maxMessageBytes = SNS_MAX_MESSAGE_BYTES,
  ) {}

  /** The message SNS gets for a notification, offloading the body to S3 when it is too big. */
  private async message(n: Notification): Promise<Message> {
    const attributes = messageAttributes(n.attributes);
    let message = n.body;
    if (snsMessageSize(message, attributes) > this.maxMessageBytes) {
      const key = offloadKey(n.attributes);
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: n.body,
          ContentType: n.attributes.payloadType === 'FullResource' ? 'application/fhir+json' : 'text/plain',
          // Without the bucket key the object's KMS encryption context is its own ARN, which the
          // key policy grants subscribers decryption of (infra/subscribers.ts, C34).
          BucketKeyEnabled: false,
        }),
      );
      message = JSON.stringify([PAYLOAD_POINTER_CLASS, { s3BucketName: this.bucket, s3Key: key }]);
      attributes[EXTENDED_PAYLOAD_SIZE] = {
        DataType: 'Number',
        StringValue: String(Buffer.byteLength(n.body, 'utf8')),
      };
    }
    return { message, attributes, size: snsMessageSize(message, attributes) };
  }

  /** One notification, one `Publish` (what the emitter did before batching; the benchmark's baseline). */
  async publish(n: Notification): Promise<void> {
    const m = await this.message(n);
    await this.sns.send(
      new PublishCommand({ TopicArn: this.topicArn, Message: m.message, MessageAttributes: m.attributes }),
    );
  }

  async publishAll(ns: Notification[]): Promise<PublishOutcome[]> {
    const outcomes: PublishOutcome[] = ns.map(() => ({ ok: false, error: 'not published' }));
    const prepared = await Promise.allSettled(ns.map((n) => this.message(n)));
    const ready: (Message & { index: number })[] = [];
    prepared.forEach((p, index) => {
      if (p.status === 'fulfilled') ready.push({ ...p.value, index });
      else outcomes[index] = { ok: false, error: `offloading the body failed: ${String(p.reason)}` };
    });
    await Promise.all(
      packBatches(ready, NOTIFICATION_BATCH, this.maxMessageBytes).map(async (batch) => {
        try {
          const res = await this.sns.send(
            new PublishBatchCommand({
              TopicArn: this.topicArn,
              PublishBatchRequestEntries: batch.map((m) => ({
                Id: String(m.index),
                Message: m.message,
                MessageAttributes: m.attributes,
              })),
            }),
          );
          for (const ok of res.Successful ?? []) outcomes[Number(ok.Id)] = { ok: true };
          for (const f of res.Failed ?? [])
            outcomes[Number(f.Id)] = { ok: false, error: `${f.Code ?? 'Failed'}: ${f.Message ?? ''}` };
        } catch (e) {
          for (const m of batch) outcomes[m.index] = { ok: false, error: String(e) };
        }
      }),
    );
    return outcomes;
  }
}
