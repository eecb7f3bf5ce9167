import type { ExportConfig } from './core/export-ports';
import type { CoreConfig } from './core/ports';
import type { SmartConfig } from './core/smart';
import type { UploadConfig } from './core/upload-ports';
import { MAX_DIRECT_BODY_BYTES } from './limits';

const MiB = 1024 * 1024;

/** Everything the functions read from the environment, validated once at cold start. */
export interface AppConfig {
  region: string;
  /** Custom AWS endpoint (moto, LocalStack); undefined on AWS. */
  endpoint?: string;
  /**
   * Credentials for a custom endpoint when the environment has none (emulators accept any);
   * undefined otherwise, so the SDK's own credential chain applies.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  tableName: string;
  bucketName: string;
  /**
   * The public origin and path prefix clients use (`PUBLIC_BASE_URL`, e.g.
   * `https://api.example.org/binary` behind a custom domain with a base-path mapping): `Location`,
   * `fullUrl` and paging links start with it. Unset: taken from the request (C5).
   */
  publicBaseUrl?: string;
  /** SNS topic of the emitter; only the emitter needs it. */
  topicArn?: string;
  /** Stream of the table; only the local stream poller reads it (Lambda's event source mapping on AWS). */
  tableStreamArn?: string;
  core: CoreConfig;
  /** The authorization server clients get tokens from (SMART_*; C27 smart-configuration). */
  smart: SmartConfig;
  /** `$upload` limits (C28). */
  upload: UploadConfig;
  /** Queue of the bulk export worker (C35); only the kick-off and the worker need it. */
  exportQueueUrl?: string;
  export: ExportConfig;
  /** Seconds an Idempotency-Key and its first answer are kept (C41). */
  idempotencySeconds: number;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/** An absolute http(s) URL without query or fragment, without its trailing slash. */
export function publicBaseUrlFrom(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(
      `PUBLIC_BASE_URL must be an absolute URL like https://api.example.org/binary, got "${raw}"`,
    );
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username)
    throw new Error(
      `PUBLIC_BASE_URL must be an http(s) URL without query, fragment or credentials, got "${raw}"`,
    );
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
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
    ...(env.AWS_ENDPOINT_URL && !env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    tableName: required(env, 'TABLE_NAME'),
    bucketName: required(env, 'BUCKET_NAME'),
    publicBaseUrl: publicBaseUrlFrom(env.PUBLIC_BASE_URL),
    topicArn: env.TOPIC_ARN || undefined,
    tableStreamArn: env.TABLE_STREAM_ARN || undefined,
    smart: {
      issuer: env.SMART_ISSUER || undefined,
      tokenEndpoint: env.SMART_TOKEN_ENDPOINT || undefined,
      jwksUri: env.SMART_JWKS_URI || undefined,
      authorizationEndpoint: env.SMART_AUTHORIZATION_ENDPOINT || undefined,
    },
    core: {
      // C13: never above what API Gateway and Lambda can carry (functions/limits.ts).
      maxDirectBytes: Math.min(
        intFrom(env, 'MAX_DIRECT_BYTES', MAX_DIRECT_BODY_BYTES),
        MAX_DIRECT_BODY_BYTES,
      ),
      // C19: an inline read travels base64 in the Lambda response, which has the event's limit.
      maxInlineBytes: Math.min(intFrom(env, 'MAX_INLINE_BYTES', 4 * MiB), MAX_DIRECT_BODY_BYTES),
      presignGetSeconds: Math.min(intFrom(env, 'PRESIGN_GET_SECONDS', 300), 300),
      intentTtlSeconds: intFrom(env, 'INTENT_TTL_SECONDS', 3600),
      commitReserveMs: intFrom(env, 'COMMIT_RESERVE_MS', 3000),
      // Far below DynamoDB's 400 KB item, which holds this JSON beside the keys and indexes.
      maxResourceBytes: intFrom(env, 'MAX_RESOURCE_BYTES', 64 * 1024),
    },
    idempotencySeconds: intFrom(env, 'IDEMPOTENCY_SECONDS', 24 * 3600),
    upload: {
      maxCreateBytes: intFrom(env, 'MAX_CREATE_BYTES', 1024 * MiB),
      maxUpdateBytes: intFrom(env, 'MAX_UPDATE_BYTES', 2048 * MiB),
      partUrlSeconds: Math.min(intFrom(env, 'UPLOAD_PART_URL_SECONDS', 3600), 3600),
      sessionSeconds: intFrom(env, 'UPLOAD_SESSION_SECONDS', 24 * 3600),
      // Emulators (moto) copy the whole object for every ranged GET: one stream there.
      verifyRangeBytes: intFrom(env, 'UPLOAD_VERIFY_RANGE_BYTES', env.AWS_ENDPOINT_URL ? 0 : 16 * MiB),
      verifyParallel: intFrom(env, 'UPLOAD_VERIFY_PARALLEL', 4),
      verifyCheckpointBytes: intFrom(env, 'UPLOAD_VERIFY_CHECKPOINT_BYTES', 128 * MiB),
      verifyReserveMs: intFrom(env, 'UPLOAD_VERIFY_RESERVE_MS', 6000),
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
