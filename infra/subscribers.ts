import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { EVENTS_PREFIX } from '../functions/adapters/sns-publisher';

export interface SubscribersProps {
  readonly topic: sns.ITopic;
  readonly bucket: s3.IBucket;
  /** The key of the bucket (and topic). */
  readonly key: kms.IKey;
  /**
   * Who may subscribe and read offloaded bodies: AWS account ids (`123456789012`) or IAM
   * principal ARNs (`arn:aws:iam::123456789012:role/notifications`).
   */
  readonly principals: string[];
}

/** An account id or a principal ARN as an IAM principal. */
export const subscriberPrincipal = (p: string): iam.IPrincipal =>
  /^\d{12}$/.test(p) ? new iam.AccountPrincipal(p) : new iam.ArnPrincipal(p);

/**
 * Lets subscribers in other accounts (C32, C34; #14 item 2) subscribe to the topic and read the
 * offloaded bodies under `_events/`: `sns:Subscribe` in the topic policy, `s3:GetObject` on
 * `_events/*` in the bucket policy, and `kms:Decrypt` in the key policy, only through S3 and only
 * for objects under `_events/` (the emitter writes them without the bucket key, so each object's
 * encryption context is its own ARN).
 */
export class Subscribers extends Construct {
  constructor(scope: Construct, id: string, props: SubscribersProps) {
    super(scope, id);
    const principals = props.principals.map(subscriberPrincipal);
    props.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSubscribers',
        principals,
        actions: ['sns:Subscribe'],
        resources: [props.topic.topicArn],
      }),
    );
    props.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSubscribersToReadEventBodies',
        principals,
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(`${EVENTS_PREFIX}*`)],
      }),
    );
    props.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowSubscribersToDecryptEventBodies',
        principals,
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` },
          // Not the bucket's ARN: the bucket refers to the key, so the key cannot refer to it. Only
          // the service's bucket is encrypted with this key.
          ArnLike: { 'kms:EncryptionContext:aws:s3:arn': `arn:${Aws.PARTITION}:s3:::*/${EVENTS_PREFIX}*` },
        },
      }),
    );
  }
}
