import { CfnOutput, type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type RouteDef, routes as routeTable } from '../functions/routes';
import { Api } from './api';
import { Events, type StreamConsumer } from './events';
import { Exports } from './exports';
import { Monitoring } from './monitoring';
import { Storage } from './storage';

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
  readonly routes?: RouteDef[];
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
      removalPolicy: props.removalPolicy,
    });
    const { key, table, bucket } = this.storage;
    this.api = new Api(this, 'Api', {
      routes: props.routes ?? routeTable,
      issuer: props.issuer,
      audience: props.audience,
      allowedOrigins: props.allowedOrigins,
      table,
      bucket,
      logKey: key,
    });
    this.events = new Events(this, 'Events', {
      table,
      bucket,
      key,
      consumers: props.streamConsumers,
    });
    this.exports = new Exports(this, 'Exports', { table, bucket, key, apiFunctions: this.api.functions });
    const consumers = [this.events.emitter, this.events.reaper].filter((f) => f !== undefined);
    this.monitoring = new Monitoring(this, 'Monitoring', {
      key,
      httpApi: this.api.httpApi,
      functions: [...this.api.functions.values(), ...consumers, this.exports.worker],
      streamConsumers: consumers,
      exportWorker: this.exports.worker,
      exportDeadLetters: this.exports.deadLetterQueue,
      failureQueue: this.events.failureQueue,
      alarmEmail: props.alarmEmail,
    });

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
