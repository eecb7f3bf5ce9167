import type { AttributeValue, CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { BlobIntent, VersionRecord } from '../core/ports';
import type { UploadSession } from '../core/upload-ports';

/**
 * The one description of the service's DynamoDB table: its keys, its indexes, its TTL attribute,
 * how each kind of item is keyed and encoded, and how stream records decode. The CDK stack
 * (infra/storage.ts) and local provisioning (local/provision.ts) create the table from `TABLE`;
 * the adapters, the stream consumers and the local stand-ins key items through `keys`.
 *
 * Items (one table, single-table design):
 * - head of a resource:     pk `B#{org}#{id}`, sk `HEAD`         — the current version's record
 * - each version:           pk `B#{org}#{id}`, sk `V#{vid:10}`   — immutable, streamed to the emitter
 * - intent of staged bytes: pk `I#{blobKey}`, sk `I`, ttl        — consumed by the commit
 * - `$upload` session:      pk `U#{uploadId}`, sk `U`, ttl
 * - stream checkpoint:      pk `CHECKPOINT#{consumer}#{shardId}`, sk `CHECKPOINT` (local only)
 * - bulk export job:        pk `X#{org}#{jobId}`, sk `X`, ttl   — progress checkpoint (C35)
 * - a tenant's export lock: pk `XL#{org}`, sk `XL`, ttl         — one running export per tenant
 * - idempotency record:     pk `K#{org}`, sk `binary#{hash of the Idempotency-Key}`, ttl — Powertools'
 *                           idempotency layout (status, data, validation) per tenant (C41)
 * GSI `byTenant` (tpk = org, tsk = `{lastUpdated}#{id}#{vid:10}`) on version items: type history.
 * GSI `currentByTenant` (cpk = org, csk = `{lastUpdated}#{id}`) on heads that are not deleted:
 * search by _lastUpdated; a delete drops the head out of it, so deleted resources never match.
 */

/** Names of the two global secondary indexes. */
export const INDEX_BY_TENANT = 'byTenant';
export const INDEX_CURRENT_BY_TENANT = 'currentByTenant';

/** The attribute DynamoDB's TTL reads (epoch seconds): intents and upload sessions carry it. */
export const TTL_ATTRIBUTE = 'ttl';

export interface IndexDef {
  name: string;
  partitionKey: string;
  sortKey: string;
}

/** The table's shape, as both the CDK stack and local provisioning create it. */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  indexes: [
    { name: INDEX_BY_TENANT, partitionKey: 'tpk', sortKey: 'tsk' },
    { name: INDEX_CURRENT_BY_TENANT, partitionKey: 'cpk', sortKey: 'csk' },
  ] satisfies IndexDef[],
  ttlAttribute: TTL_ATTRIBUTE,
  /** The emitter needs the committed version (NEW), the reaper the expired intent (OLD). */
  streamViewType: 'NEW_AND_OLD_IMAGES',
} as const;

/** `TABLE` as a CreateTable request (every key attribute a string, on-demand billing). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const keyAttributes: string[] = [TABLE.partitionKey, TABLE.sortKey];
  for (const i of TABLE.indexes) keyAttributes.push(i.partitionKey, i.sortKey);
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keyAttributes.map((n) => ({ AttributeName: n, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: 'HASH' },
        { AttributeName: i.sortKey, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE.streamViewType },
  };
}

const RESOURCE_PREFIX = 'B#';
/** Sort-key prefix of version items; a Query on `begins_with(sk, VERSION_PREFIX)` lists versions. */
export const VERSION_PREFIX = 'V#';
const INTENT_PREFIX = 'I#';
const UPLOAD_PREFIX = 'U#';
const CHECKPOINT_PREFIX = 'CHECKPOINT#';
const EXPORT_JOB_PREFIX = 'X#';
const EXPORT_LOCK_PREFIX = 'XL#';
const IDEMPOTENCY_PREFIX = 'K#';

const pad = (vid: number) => String(vid).padStart(10, '0');

/** Every key of the table. */
export const keys = {
  /** Partition of one resource (head and versions). */
  resource: (org: string, id: string) => `${RESOURCE_PREFIX}${org}#${id}`,
  /** Prefix shared by the partitions of every resource of a tenant. */
  tenantResources: (org: string) => `${RESOURCE_PREFIX}${org}#`,
  version: (vid: number) => `${VERSION_PREFIX}${pad(vid)}`,
  head: 'HEAD',
  intent: (blobKey: string) => ({ pk: `${INTENT_PREFIX}${blobKey}`, sk: 'I' }),
  /** Prefix of intent partition keys; `intentsUnder('acme/')` covers one tenant's blob keys. */
  intentsUnder: (blobKeyPrefix = '') => `${INTENT_PREFIX}${blobKeyPrefix}`,
  upload: (uploadId: string) => ({ pk: `${UPLOAD_PREFIX}${uploadId}`, sk: 'U' }),
  /** Partition of a tenant's Idempotency-Key records; Powertools keys them by sort key (C41). */
  idempotency: (org: string) => `${IDEMPOTENCY_PREFIX}${org}`,
  checkpoint: (consumer: string, shardId: string) => ({
    pk: `${CHECKPOINT_PREFIX}${consumer}#${shardId}`,
    sk: 'CHECKPOINT',
  }),
  exportJob: (org: string, jobId: string) => ({ pk: `${EXPORT_JOB_PREFIX}${org}#${jobId}`, sk: 'X' }),
  exportLock: (org: string) => ({ pk: `${EXPORT_LOCK_PREFIX}${org}`, sk: 'XL' }),
  /** `byTenant` sort key of a version. */
  tenantHistory: (r: Pick<VersionRecord, 'lastUpdated' | 'id' | 'vid'>) =>
    `${r.lastUpdated}#${r.id}#${pad(r.vid)}`,
  /** `currentByTenant` sort key of a head. */
  current: (r: Pick<VersionRecord, 'lastUpdated' | 'id'>) => `${r.lastUpdated}#${r.id}`,
};

const RECORD_FIELDS = [
  'org',
  'id',
  'vid',
  'lastUpdated',
  'method',
  'created',
  'deleted',
  'resource',
  'contentType',
  'securityContext',
  'language',
  'size',
  'blobKey',
  'sha256',
] as const;

/** Picks the VersionRecord out of a stored item (heads and versions carry the same fields). */
export function recordFromItem(item: Record<string, unknown>): VersionRecord {
  const out: Record<string, unknown> = {};
  for (const f of RECORD_FIELDS) if (item[f] !== undefined) out[f] = item[f];
  return out as unknown as VersionRecord;
}

export function versionItem(r: VersionRecord): Record<string, unknown> {
  return {
    ...r,
    pk: keys.resource(r.org, r.id),
    sk: keys.version(r.vid),
    tpk: r.org,
    tsk: keys.tenantHistory(r),
  };
}

export function headItem(r: VersionRecord): Record<string, unknown> {
  return {
    ...r,
    pk: keys.resource(r.org, r.id),
    sk: keys.head,
    ...(r.deleted ? {} : { cpk: r.org, csk: keys.current(r) }),
  };
}

export function intentItem(intent: BlobIntent): Record<string, unknown> {
  return {
    ...keys.intent(intent.blobKey),
    kind: 'intent',
    blobKey: intent.blobKey,
    org: intent.org,
    id: intent.id,
    [TTL_ATTRIBUTE]: intent.expiresAt,
    ...(intent.multipartUploadId ? { multipartUploadId: intent.multipartUploadId } : {}),
  };
}

export function sessionItem(session: UploadSession): Record<string, unknown> {
  return { ...keys.upload(session.uploadId), kind: 'upload', ...session, [TTL_ATTRIBUTE]: session.expiresAt };
}

export function sessionFromItem(item: Record<string, unknown>): UploadSession {
  const { pk: _pk, sk: _sk, kind: _k, [TTL_ATTRIBUTE]: _t, ...session } = item;
  return session as unknown as UploadSession;
}

/** True for the local stream poller's own checkpoint items. */
export const isCheckpointKey = (pk: string | undefined) => pk?.startsWith(CHECKPOINT_PREFIX) === true;

const image = (i: Record<string, unknown> | undefined) =>
  i ? unmarshall(i as Record<string, AttributeValue>) : undefined;

/**
 * The committed version a stream record announces, or undefined for anything else: heads,
 * intents, upload sessions, checkpoints, and every MODIFY/REMOVE. Version items are immutable and
 * written once, so their INSERT is the commit (C32).
 */
export function committedVersion(r: DynamoDBRecord): VersionRecord | undefined {
  const img = r.dynamodb?.NewImage;
  if (r.eventName !== 'INSERT' || !img) return undefined;
  const sk = img.sk?.S;
  const pk = img.pk?.S;
  if (!sk?.startsWith(VERSION_PREFIX) || !pk?.startsWith(RESOURCE_PREFIX)) return undefined;
  return recordFromItem(image(img as Record<string, unknown>)!);
}

/** What the reaper needs of an intent that DynamoDB's TTL removed. */
export type ExpiredIntent = Pick<BlobIntent, 'blobKey' | 'org' | 'id' | 'multipartUploadId'>;

/**
 * The intent a stream record reports as deleted by the TTL service, or undefined for anything
 * else (other items, deletions by a commit or by the application, inserts and updates).
 */
export function expiredIntent(r: DynamoDBRecord): ExpiredIntent | undefined {
  const byTtl =
    r.userIdentity?.type === 'Service' && r.userIdentity?.principalId === 'dynamodb.amazonaws.com';
  const old = image(r.dynamodb?.OldImage as Record<string, unknown> | undefined);
  if (r.eventName !== 'REMOVE' || !byTtl || !old) return undefined;
  if (old.kind !== 'intent' || typeof old.blobKey !== 'string') return undefined;
  return {
    blobKey: old.blobKey,
    org: String(old.org),
    id: String(old.id),
    // $upload intents also abort their multipart upload (C30).
    ...(typeof old.multipartUploadId === 'string' ? { multipartUploadId: old.multipartUploadId } : {}),
  };
}
