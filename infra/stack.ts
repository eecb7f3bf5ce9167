import { Aspects, CfnOutput, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { publicBaseUrlFrom } from '../functions/config';
import { type OperationDef, operations as operationTable } from '../functions/routes';
import { Api } from './api';
import { Events, type StreamConsumer } from './events';
import { Exports } from './exports';
import { Monitoring } from './monitoring';
import { LogRetention } from './retention';
import { Storage } from './storage';
import { Subscribers } from './subscribers';

export interface FhirBinaryStackProps extends StackProps {
  /** Issuer (`iss`) of the JWTs the API accepts (context `issuer`). */
  readonly issuer: string;
  /** Audience (`aud`) of the JWTs the API accepts (context `audience`). */
  readonly audience: string;
  /**
   * Browser origins allowed to call the API and to PUT upload parts (context `allowedOrigins`).
   * @default - none: no CORS
   */
  readonly allowedOrigins?: string[];
  /**
   * The route table.
   * @default - functions/routes.ts
   */
  readonly operations?: OperationDef[];
  /**
   * The stream consumers.
   * @default - STREAM_CONSUMERS of infra/events.ts whose module exists
   */
  readonly streamConsumers?: StreamConsumer[];
  /**
   * Subscribed to the alarm topic (context `alarmEmail`).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * The public base clients use, when the API sits behind a custom domain (with a base-path
   * mapping): `Location` and paging links start with it (C1; context `publicBaseUrl`), e.g.
   * `https://api.example.org/binary`.
   * @default - the request's own host (the API's execute-api domain)
   */
  readonly publicBaseUrl?: string;
  /** Token endpoint of the authorization server (context `tokenEndpoint`), for the SMART configuration. */
  readonly tokenEndpoint?: string;
  /** JWKS of the authorization server (context `jwksUri`), for the SMART configuration. */
  readonly jwksUri?: string;
  /**
   * Subscribers in other accounts (context `subscribers`, comma-separated): AWS account ids or
   * IAM principal ARNs allowed to subscribe to the topic and read offloaded bodies (C34).
   * @default - only this account
   */
  readonly subscribers?: string[];
  /**
   * Retention of every log group: the functions' logs (audit lines, C38) and the API access log
   * (context `logRetentionDays`, one of CloudWatch Logs' values, e.g. 2192 for six years).
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * S3 Object Lock in GOVERNANCE mode with this default retention in days (context
   * `objectLockDays`); see docs/DEPLOY.md for its consequences.
   * @default - no Object Lock; the bucket policy alone keeps version objects from deletes and overwrites
   */
  readonly objectLockDays?: number;
  /**
   * Of the table, buckets and key.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The whole service; it only assembles the constructs. */
export class FhirBinaryStack extends Stack {
  readonly storage: Storage;
  readonly api: Api;
  readonly events: Events;
  readonly exports: Exports;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: FhirBinaryStackProps) {
    super(scope, id, props);
    this.storage = new Storage(this, 'Storage', {
      allowedOrigins: props.allowedOrigins,
      objectLockDays: props.objectLockDays,
      removalPolicy: props.removalPolicy,
    });
    const { key, table, bucket } = this.storage;
    this.api = new Api(this, 'Api', {
      operations: props.operations ?? operationTable,
      issuer: props.issuer,
      audience: props.audience,
      allowedOrigins: props.allowedOrigins,
      table,
      bucket,
      logKey: key,
      environment: {
        ...(props.publicBaseUrl ? { PUBLIC_BASE_URL: publicBaseUrlFrom(props.publicBaseUrl)! } : {}),
        // The authorization server the SMART configuration names (C27).
        SMART_ISSUER: props.issuer,
        ...(props.tokenEndpoint ? { SMART_TOKEN_ENDPOINT: props.tokenEndpoint } : {}),
        ...(props.jwksUri ? { SMART_JWKS_URI: props.jwksUri } : {}),
      },
    });
    this.events = new Events(this, 'Events', {
      table,
      bucket,
      key,
      consumers: props.streamConsumers,
    });
    // #14.8: only the reaper deletes tenant objects; nobody overwrites them.
    this.storage.protectVersionObjects(this.events.reaper?.fn.role ? [this.events.reaper.fn.role] : []);
    if (props.subscribers?.length)
      new Subscribers(this, 'Subscribers', {
        topic: this.events.topic,
        bucket,
        key,
        principals: props.subscribers,
      });
    this.exports = new Exports(this, 'Exports', { table, bucket, key, apiFunctions: this.api.functions });
    const consumers = [this.events.emitter, this.events.reaper].filter((f) => f !== undefined);
    this.monitoring = new Monitoring(this, 'Monitoring', {
      key,
      httpApi: this.api.httpApi,
      functions: [...new Set(this.api.functions.values()), ...consumers, this.exports.worker],
      streamConsumers: consumers,
      exportWorker: this.exports.worker,
      exportDeadLetters: this.exports.deadLetterQueue,
      failureQueue: this.events.failureQueue,
      alarmEmail: props.alarmEmail,
    });

    Aspects.of(this).add(new LogRetention(props.logRetention ?? logs.RetentionDays.ONE_YEAR));

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.httpApi.apiEndpoint,
      description: 'FHIR base: {ApiUrl}/organizations/{organizationId}/fhir/4',
    });
    new CfnOutput(this, 'TopicArn', {
      value: this.events.topic.topicArn,
      description: 'Subscribe here (C32)',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.alarmTopic.topicArn });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'BucketName', { value: bucket.bucketName });
  }
}
