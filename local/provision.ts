import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { createTableInput, TABLE } from '../functions/adapters/dynamo-schema';
import { loadConfig } from '../functions/config';
import { type Components, wire } from '../functions/wiring';
import { bucketCorsRules } from '../infra/bucket-cors';
import { ABORT_INCOMPLETE_UPLOADS } from '../infra/bucket-lifecycle';

export interface LocalResources {
  tableName: string;
  bucketName: string;
  topicArn: string;
  tableStreamArn: string;
  /** Queue of the bulk export worker (C35). */
  exportQueueUrl: string;
}

export const LOCAL_NAMES = {
  tableName: 'fhir-binary',
  bucketName: 'fhir-binary-local',
  topicName: 'fhir-binary-events',
  exportQueueName: 'fhir-binary-export',
};

/** Origins allowed to PUT upload parts from a browser (C28); comma-separated ALLOWED_ORIGINS. */
export const allowedOrigins = (env = process.env) =>
  (env.ALLOWED_ORIGINS ?? '*')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * The composition root's clients, pointed at `endpoint` before the environment names it (the
 * resources provisioned here are what it will name).
 */
function localWiring(endpoint: string, region: string, tableName = LOCAL_NAMES.tableName): Components {
  return wire({
    appConfig: loadConfig({
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      TABLE_NAME: tableName,
      BUCKET_NAME: LOCAL_NAMES.bucketName,
    }),
  });
}

/**
 * Creates the table, bucket and topic the stack creates on AWS, on a local endpoint (moto).
 * Idempotent, so a restart against a shared emulator keeps its data.
 */
export async function provision(endpoint: string, region = 'us-east-1'): Promise<LocalResources> {
  const {
    clients: { s3 },
    sns,
  } = localWiring(endpoint, region);
  const { tableName, bucketName, topicName } = LOCAL_NAMES;
  const tableStreamArn = await provisionTable(endpoint, tableName, region);
  await provisionBucket(s3, bucketName);
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucketName,
      LifecycleConfiguration: {
        Rules: [
          {
            ID: ABORT_INCOMPLETE_UPLOADS.id,
            Status: 'Enabled',
            Filter: { Prefix: '' },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_INCOMPLETE_UPLOADS.days },
          },
        ],
      },
    }),
  );
  const topic = await sns.send(new CreateTopicCommand({ Name: topicName }));
  const exportQueueUrl = await provisionExportQueue(endpoint, LOCAL_NAMES.exportQueueName, region);
  return { tableName, bucketName, topicArn: topic.TopicArn!, tableStreamArn, exportQueueUrl };
}

/** Creates (or finds) a queue for the export worker; returns its URL. */
export async function provisionExportQueue(
  endpoint: string,
  name: string,
  region = 'us-east-1',
): Promise<string> {
  const { sqs } = localWiring(endpoint, region);
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  return out.QueueUrl!;
}

/**
 * Creates the bucket unless it exists and sets the stack's CORS rules on it (infra/bucket-cors.ts),
 * with ALLOWED_ORIGINS (or `putOrigins`) as the origins that may PUT parts.
 */
export async function provisionBucket(
  s3: S3Client,
  bucketName: string,
  putOrigins: readonly string[] = allowedOrigins(),
): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucketName }));
  } catch (e) {
    const name = (e as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
  }
  await s3.send(
    new PutBucketCorsCommand({
      Bucket: bucketName,
      CORSConfiguration: {
        CORSRules: bucketCorsRules(putOrigins).map((r) => ({
          ID: r.id,
          AllowedMethods: r.allowedMethods,
          AllowedOrigins: r.allowedOrigins,
          AllowedHeaders: r.allowedHeaders,
          ExposeHeaders: r.exposedHeaders,
          MaxAgeSeconds: r.maxAgeSeconds,
        })),
      },
    }),
  );
}

/** Creates the table from the schema the stack uses too (dynamo-schema.ts) unless it exists; returns its stream ARN. */
export async function provisionTable(
  endpoint: string,
  tableName: string,
  region = 'us-east-1',
): Promise<string> {
  const { ddb } = localWiring(endpoint, region, tableName).clients;
  try {
    await ddb.send(new CreateTableCommand(createTableInput(tableName)));
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: TABLE.ttlAttribute },
      }),
    );
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  const table = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
  return table.Table!.LatestStreamArn!;
}
