import type { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type AwsClients, clientOptions, makeClients } from './adapters/clients';
import { DynamoExportJobs } from './adapters/dynamo-export-jobs';
import { dynamoIdempotency, type IdempotencyStoreFor } from './adapters/dynamo-idempotency';
import { DynamoVersionQueries } from './adapters/dynamo-queries';
import { DynamoVersionRepository } from './adapters/dynamo-repository';
import { DynamoUploadSessions } from './adapters/dynamo-upload-sessions';
import { S3BlobStore } from './adapters/s3-blob-store';
import { S3ExportFiles } from './adapters/s3-export-files';
import { S3MultipartStore } from './adapters/s3-multipart';
import { makeSnsClient, SnsPublisher } from './adapters/sns-publisher';
import { SqsExportScheduler } from './adapters/sqs-export-scheduler';
import { type AppConfig, loadConfig } from './config';
import type { ExportDeps, ExportFileStore, ExportJobStore, ExportScheduler } from './core/export-ports';
import type { NotificationPublisher } from './core/notification';
import type { BlobStore, VersionRepository } from './core/ports';
import type { VersionQueries } from './core/queries';
import type { MultipartStore, UploadDeps, UploadSessionStore } from './core/upload-ports';

/**
 * The composition root: the one place that turns configuration into SDK clients and adapters.
 * Every Lambda handler, stream consumer (emitter, reaper) and local tool (sweeper, stream poller,
 * provisioning) takes its dependencies from here; nothing else constructs an adapter.
 *
 * Each component is built on first use and then kept for the life of the container, so a
 * function builds only what it touches (the read function never creates an SNS client).
 * Tests replace components with `overrideWiring({ blobs: … })` and go back with `resetWiring()`.
 */
export interface Components {
  appConfig: AppConfig;
  clients: AwsClients;
  sns: SNSClient;
  repo: VersionRepository;
  blobs: BlobStore;
  queries: VersionQueries;
  multipart: MultipartStore;
  sessions: UploadSessionStore;
  /** Idempotency-Key records of a tenant (C41). */
  idempotency: IdempotencyStoreFor;
  /** Only the emitter needs it; building it without TOPIC_ARN throws. */
  publisher: NotificationPublisher;
  sqs: SQSClient;
  exportJobs: ExportJobStore;
  exportFiles: ExportFileStore;
  /** Only the export kick-off and worker need it; building it without EXPORT_QUEUE_URL throws. */
  exportScheduler: ExportScheduler;
}

type Builders = { [K in keyof Components]: (w: Components) => Components[K] };

const builders: Builders = {
  appConfig: () => loadConfig(),
  clients: (w) => makeClients(w.appConfig),
  sns: (w) => makeSnsClient(w.appConfig),
  repo: (w) => new DynamoVersionRepository(w.clients.ddb, w.appConfig.tableName),
  blobs: (w) => new S3BlobStore(w.clients.s3, w.appConfig.bucketName),
  queries: (w) => new DynamoVersionQueries(w.clients.ddb, w.appConfig.tableName),
  multipart: (w) => new S3MultipartStore(w.clients.s3, w.appConfig.bucketName),
  sessions: (w) => new DynamoUploadSessions(w.clients.ddb, w.appConfig.tableName),
  idempotency: (w) => dynamoIdempotency(w.appConfig),
  publisher: (w) => {
    const { topicArn, bucketName } = w.appConfig;
    if (!topicArn) throw new Error('TOPIC_ARN must be set for the emitter');
    return new SnsPublisher(w.sns, w.clients.s3, topicArn, bucketName);
  },
  sqs: (w) => new SQSClient(clientOptions(w.appConfig)),
  exportJobs: (w) => new DynamoExportJobs(w.clients.ddb, w.appConfig.tableName),
  exportFiles: (w) => new S3ExportFiles(w.clients.s3, w.appConfig.bucketName),
  exportScheduler: (w) => {
    const { exportQueueUrl } = w.appConfig;
    if (!exportQueueUrl) throw new Error('EXPORT_QUEUE_URL must be set for bulk export');
    return new SqsExportScheduler(w.sqs, exportQueueUrl);
  },
};

/** A fresh set of lazily built components; `overrides` are used as given instead of built. */
export function wire(overrides: Partial<Components> = {}): Components {
  const built: Partial<Record<keyof Components, unknown>> = { ...overrides };
  const w = {} as Components;
  for (const k of Object.keys(builders) as (keyof Components)[]) {
    Object.defineProperty(w, k, {
      enumerable: true,
      get: () => {
        if (built[k] === undefined) built[k] = builders[k](w);
        return built[k];
      },
    });
  }
  return w;
}

/**
 * What an HTTP operation receives: every port of the core (write path, queries, `$upload`) and
 * the limits from configuration. The members are getters over the same components, so spreading
 * it (`{ ...deps, now }`) builds what it has not built yet.
 */
export interface AppDeps extends UploadDeps, ExportDeps {
  appConfig: AppConfig;
  clients: AwsClients;
  queries: VersionQueries;
}

function depsOf(w: Components): AppDeps {
  // `now` and `newId` stay unset: the core's defaults (system clock, random ids); the HTTP
  // handler adds each invocation's `remainingMs`.
  const view: { [K in Exclude<keyof AppDeps, 'now' | 'newId' | 'remainingMs'>]: () => AppDeps[K] } = {
    appConfig: () => w.appConfig,
    clients: () => w.clients,
    config: () => w.appConfig.core,
    upload: () => w.appConfig.upload,
    repo: () => w.repo,
    blobs: () => w.blobs,
    queries: () => w.queries,
    multipart: () => w.multipart,
    sessions: () => w.sessions,
    exportJobs: () => w.exportJobs,
    exportFiles: () => w.exportFiles,
    exportScheduler: () => w.exportScheduler,
    exportConfig: () => w.appConfig.export,
  };
  const d = {} as AppDeps;
  for (const [k, get] of Object.entries(view)) Object.defineProperty(d, k, { enumerable: true, get });
  return d;
}

let current: { components: Components; deps: AppDeps } | undefined;

function state() {
  if (!current) {
    const components = wire();
    current = { components, deps: depsOf(components) };
  }
  return current;
}

/** The components of this process (built lazily, once). */
export function wiring(): Components {
  return state().components;
}

/** The dependencies of the HTTP operations, over the same components. */
export function appDeps(): AppDeps {
  return state().deps;
}

/** Tests: replace some components (the rest are built as usual) until `resetWiring()`. */
export function overrideWiring(overrides: Partial<Components>): void {
  const components = wire(overrides);
  current = { components, deps: depsOf(components) };
}

/** Forgets every built component; the next use rebuilds from the environment. */
export function resetWiring(): void {
  current = undefined;
}
