import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppConfig } from '../config';
import { clientOptions } from './clients';
import { keys, TABLE, TTL_ATTRIBUTE } from './dynamo-schema';

/** Powertools' persistence of one tenant's Idempotency-Key records in the service table (C41). */
export type IdempotencyStoreFor = (org: string) => DynamoDBPersistenceLayer;

/**
 * Idempotency records live in the service table under `K#{org}` (dynamo-schema.ts), one
 * partition per tenant so keys never collide across tenants, and expire through the table's TTL
 * attribute. Powertools sends plain (not document-client) commands, hence a client of its own.
 */
export function dynamoIdempotency(config: AppConfig): IdempotencyStoreFor {
  const client = new DynamoDBClient(clientOptions(config));
  return (org) =>
    new DynamoDBPersistenceLayer({
      tableName: config.tableName,
      awsSdkV3Client: client,
      keyAttr: TABLE.partitionKey,
      sortKeyAttr: TABLE.sortKey,
      staticPkValue: keys.idempotency(org),
      expiryAttr: TTL_ATTRIBUTE,
    });
}
