import { DynamoUploadSessions } from '../adapters/dynamo-upload-sessions';
import { S3MultipartStore } from '../adapters/s3-multipart';
import type { UploadDeps } from '../core/upload';
import type { AppDeps } from './deps';

let cached: UploadDeps | undefined;

/** The app's deps plus the `$upload` adapters, built once per container. */
export function uploadDeps(app: AppDeps): UploadDeps {
  if (!cached) {
    cached = {
      ...app,
      multipart: new S3MultipartStore(app.clients.s3, app.appConfig.bucketName),
      sessions: new DynamoUploadSessions(app.clients.ddb, app.appConfig.tableName),
      upload: app.appConfig.upload,
    };
  }
  return cached;
}
