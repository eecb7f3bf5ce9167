import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AppConfig } from '../config';

export interface AwsClients {
  ddb: DynamoDBDocumentClient;
  s3: S3Client;
}

/** Where every SDK client of the service connects: region, and the custom endpoint when set. */
export type AwsTarget = Pick<AppConfig, 'region' | 'endpoint' | 'credentials'>;

/** The options every SDK client of the service is built with (functions/wiring.ts and local tools). */
export function clientOptions(config: AwsTarget) {
  return {
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
  };
}

/** Builds the SDK clients once per container; a custom endpoint (moto) gets path-style S3. */
export function makeClients(config: AwsTarget): AwsClients {
  const common = clientOptions(config);
  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient(common), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const s3 = new S3Client({
    ...common,
    forcePathStyle: config.endpoint !== undefined,
    // Flexible checksums are computed only where S3 requires them: moto and presigned part
    // uploads from browsers then agree with the SDK (docs/ARCHITECTURE.md, Toolchain facts).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { ddb, s3 };
}
