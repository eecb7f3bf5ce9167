import { type AwsClients, makeClients } from '../adapters/clients';
import { DynamoVersionRepository } from '../adapters/dynamo-repository';
import { S3BlobStore } from '../adapters/s3-blob-store';
import { type AppConfig, loadConfig } from '../config';
import type { CoreDeps } from '../core/ports';

export interface AppDeps extends CoreDeps {
  appConfig: AppConfig;
  clients: AwsClients;
}

let cached: AppDeps | undefined;

/** Config, clients and adapters, built once per container on first use. */
export function appDeps(): AppDeps {
  if (!cached) {
    const appConfig = loadConfig();
    const clients = makeClients(appConfig);
    cached = {
      appConfig,
      clients,
      config: appConfig.core,
      repo: new DynamoVersionRepository(clients.ddb, appConfig.tableName),
      blobs: new S3BlobStore(clients.s3, appConfig.bucketName),
    };
  }
  return cached;
}
