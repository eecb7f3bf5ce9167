import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AppConfig } from '../config';

export interface AwsClients {
  ddb: DynamoDBDocumentClient;
  s3: S3Client;
}

/** Builds the SDK clients once per container; a custom endpoint (moto) gets path-style S3. */
export function makeClients(config: AppConfig): AwsClients {
  const common = { region: config.region, ...(config.endpoint ? { endpoint: config.endpoint } : {}) };
  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient(common), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const s3 = new S3Client({
    ...common,
    forcePathStyle: config.endpoint !== undefined,
    // Flexible checksums are computed only where S3 requires them: moto and presigned part
    // uploads from browsers then agree with the SDK (docs/ARCHITECTURE.md, toolchain facts).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { ddb, s3 };
}
