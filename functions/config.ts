import type { ExportConfig } from './core/export-ports';
import type { CoreConfig } from './core/ports';
import type { UploadConfig } from './core/upload-ports';

const MiB = 1024 * 1024;

/** Everything the functions read from the environment, validated once at cold start. */
export interface AppConfig {
  region: string;
  /** Custom AWS endpoint (moto, LocalStack); undefined on AWS. */
  endpoint?: string;
  tableName: string;
  bucketName: string;
  /** SNS topic of the emitter; only the emitter needs it. */
  topicArn?: string;
  core: CoreConfig;
  /** `$upload` limits (C28). */
  upload: UploadConfig;
  /** Queue of the bulk export worker (C35); only the kick-off and the worker need it. */
  exportQueueUrl?: string;
  export: ExportConfig;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (v === undefined || v === '') throw new Error(`${name} must be set`);
  return v;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: env.AWS_ENDPOINT_URL || undefined,
    tableName: required(env, 'TABLE_NAME'),
    bucketName: required(env, 'BUCKET_NAME'),
    topicArn: env.TOPIC_ARN || undefined,
    core: {
      maxDirectBytes: intFrom(env, 'MAX_DIRECT_BYTES', 4 * MiB),
      maxInlineBytes: intFrom(env, 'MAX_INLINE_BYTES', 4 * MiB),
      presignGetSeconds: Math.min(intFrom(env, 'PRESIGN_GET_SECONDS', 300), 300),
      intentTtlSeconds: intFrom(env, 'INTENT_TTL_SECONDS', 3600),
    },
    upload: {
      maxCreateBytes: intFrom(env, 'MAX_CREATE_BYTES', 1024 * MiB),
      maxUpdateBytes: intFrom(env, 'MAX_UPDATE_BYTES', 2048 * MiB),
      partUrlSeconds: Math.min(intFrom(env, 'UPLOAD_PART_URL_SECONDS', 3600), 3600),
      sessionSeconds: intFrom(env, 'UPLOAD_SESSION_SECONDS', 24 * 3600),
      // Emulators (moto) copy the whole object for every ranged GET: one stream there.
      verifyRangeBytes: intFrom(env, 'UPLOAD_VERIFY_RANGE_BYTES', env.AWS_ENDPOINT_URL ? 0 : 16 * MiB),
      verifyParallel: intFrom(env, 'UPLOAD_VERIFY_PARALLEL', 4),
    },
    exportQueueUrl: env.EXPORT_QUEUE_URL || undefined,
    export: {
      fileBytes: intFrom(env, 'EXPORT_FILE_BYTES', 256 * MiB),
      retentionSeconds: intFrom(env, 'EXPORT_RETENTION_SECONDS', 24 * 3600),
      pageSize: Math.min(Math.max(intFrom(env, 'EXPORT_PAGE_SIZE', 200), 1), 1000),
      marginMs: intFrom(env, 'EXPORT_MARGIN_MS', 60_000),
    },
  };
}
