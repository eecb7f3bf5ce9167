import { DEV_ISSUER } from './dev-auth';
import type { LocalResources } from './provision';

/** Points the handlers (same process) at the local endpoint and resources. */
export function setLocalEnv(endpoint: string, r: LocalResources): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    TABLE_NAME: r.tableName,
    BUCKET_NAME: r.bucketName,
    TOPIC_ARN: r.topicArn,
    TABLE_STREAM_ARN: r.tableStreamArn,
    EXPORT_QUEUE_URL: r.exportQueueUrl,
    // The local "authorization server" is `npm run -s token` (no token endpoint): C27.
    SMART_ISSUER: process.env.SMART_ISSUER ?? DEV_ISSUER,
  });
}
