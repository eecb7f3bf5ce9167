import { Aws, Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ServiceFunction } from './service-function';

/** Age of the oldest unprocessed stream record at which a consumer is said to fall behind. */
export const ITERATOR_AGE_ALARM = Duration.minutes(30);

export interface MonitoringProps {
  /** Encrypts the alarm topic; CloudWatch is allowed to use it. */
  readonly key: kms.Key;
  readonly httpApi: apigw.IHttpApi;
  /** Every function of the service: each gets a throttle alarm. */
  readonly functions: ServiceFunction[];
  /** Stream consumers: each gets an error alarm. */
  readonly streamConsumers: ServiceFunction[];
  /** The on-failure queue of the stream consumers. */
  readonly failureQueue: sqs.IQueue;
  /** The bulk export worker (C35): its errors alarm. */
  readonly exportWorker?: ServiceFunction;
  /** Export slices given up on after every retry. */
  readonly exportDeadLetters?: sqs.IQueue;
  /**
   * An address subscribed to the alarm topic.
   * @default - no subscription; subscribe to the `AlarmTopicArn` output yourself
   */
  readonly alarmEmail?: string;
}

/**
 * Alarms on what must never happen quietly: API 5xx (a 500 is always a bug, C7), Lambda throttles,
 * stream-consumer errors, and records given up on in the failure queue. All notify one encrypted
 * SNS topic.
 */
export class Monitoring extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    // CloudWatch alarms of this account publish to an encrypted topic only if the key lets
    // CloudWatch use it (#14 item 1)...
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
    };
    props.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisAccountsAlarms,
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'FHIR Binary alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    // ...and if the topic policy allows it: with enforceSSL the policy holds only the TLS deny, and
    // a topic with a policy grants nothing it does not state.
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );
    if (props.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.alarmTopic);
    const period = Duration.minutes(5);

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string, threshold = 1) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
      return a;
    };

    alarm(
      'Api5xx',
      props.httpApi.metricServerError({ period, statistic: 'Sum' }),
      'The API answered 5xx: every 500 is a bug (C7); check the functions logs by request id.',
    );
    for (const f of props.functions)
      alarm(
        `${f.node.id}Throttles`,
        f.fn.metricThrottles({ period, statistic: 'Sum' }),
        `Lambda throttled ${f.node.path}: raise the account concurrency quota or lower the API throttle.`,
      );
    for (const f of props.streamConsumers) {
      alarm(
        `${f.node.id}Errors`,
        f.fn.metricErrors({ period, statistic: 'Sum' }),
        `The stream consumer ${f.node.path} failed; failing batches are retried, then sent to the failure queue.`,
      );
      // #14 item 4: a consumer falling behind. Stream records live 24 h; the alarm fires while
      // there is most of a day left to catch up.
      alarm(
        `${f.node.id}IteratorAge`,
        f.fn.metric('IteratorAge', { period, statistic: 'Maximum' }),
        `${f.node.path} is more than ${ITERATOR_AGE_ALARM.toHumanString()} behind the table's stream (records expire after 24 h): check its errors, duration and throttles.`,
        ITERATOR_AGE_ALARM.toMilliseconds(),
      );
    }
    alarm(
      'StreamFailures',
      props.failureQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      'Stream records were given up on (notifications not sent or orphans not reaped): inspect and redrive the failure queue.',
    );
    if (props.exportWorker)
      alarm(
        'ExportWorkerErrors',
        props.exportWorker.fn.metricErrors({ period, statistic: 'Sum' }),
        'The bulk export worker failed (C35); its slice is retried from the last checkpoint, then the job fails.',
      );
    if (props.exportDeadLetters)
      alarm(
        'ExportFailures',
        props.exportDeadLetters.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        'An export job was given up on after every retry: its manifest reports the error; inspect the dead-letter queue.',
      );
  }
}
