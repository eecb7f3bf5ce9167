import { loadVersionData, MAX_EMBEDDED_DATA_BYTES, toFhir } from './binary';
import type { VersionRecord } from './ports';

/** C33: decoded data over this many bytes is left out of notifications; exactly this is kept. */
export const NOTIFICATION_MAX_DATA_BYTES = MAX_EMBEDDED_DATA_BYTES;

/** C32 `action` values (the Google Cloud Healthcare notification vocabulary). */
export type NotificationAction = 'CreateResource' | 'UpdateResource' | 'PatchResource' | 'DeleteResource';

/** C32 message attributes; all are strings so SNS filter policies can match them. */
export interface NotificationAttributes {
  action: NotificationAction;
  resourceType: 'Binary';
  organizationId: string;
  resourceId: string;
  versionId: string;
  lastUpdatedTime: string;
  payloadType: 'FullResource' | 'NameOnly';
}

/** One notification of one committed version: the SNS message before any offloading (C34). */
export interface Notification {
  attributes: NotificationAttributes;
  /** The Binary JSON of the version (FullResource) or `Binary/{id}` (NameOnly). */
  body: string;
}

/** What became of one notification handed to `publishAll`. */
export type PublishOutcome = { ok: true } | { ok: false; error: string };

/** Where notifications go; the SNS adapter implements it (functions/adapters/sns-publisher.ts). */
export interface NotificationPublisher {
  /**
   * Publishes a few notifications of different resources at once (SNS `PublishBatch`: at most
   * `NOTIFICATION_BATCH` of them); the outcomes are in the order given. A retry of the same
   * version must not leave extra state behind.
   */
  publishAll(notifications: Notification[]): Promise<PublishOutcome[]>;
}

/** How many notifications are published together (SNS `PublishBatch` takes at most 10 entries). */
export const NOTIFICATION_BATCH = 10;

/**
 * The next notifications to publish together, in stream order: the earliest pending version of up
 * to `max` different resources. A resource's later version waits for the earlier one, so each
 * resource's notifications go out in version order while different resources go out in parallel.
 */
export function nextBatch<T>(pending: readonly T[], resourceOf: (t: T) => string, max: number): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const t of pending) {
    const r = resourceOf(t);
    if (seen.has(r)) continue;
    seen.add(r);
    out.push(t);
    if (out.length === max) break;
  }
  return out;
}

/** Reads the bytes stored under a blob key (BlobStore.get). */
export type BytesLoader = (blobKey: string) => Promise<Uint8Array>;

/** C32: the action of a version, from how it was written. */
export function notificationAction(
  r: Pick<VersionRecord, 'method' | 'created' | 'deleted'>,
): NotificationAction {
  if (r.deleted || r.method === 'DELETE') return 'DeleteResource';
  if (r.created) return 'CreateResource';
  if (r.method === 'PATCH') return 'PatchResource';
  return 'UpdateResource';
}

/**
 * Builds the notification of one committed version (C32). The 10 MB rule (C33) is decided from
 * `record.size` alone, so the bytes of an oversized version are never loaded; smaller data is
 * loaded and checked against the stored size, so a truncated read is retried, not published.
 */
export async function buildNotification(
  record: VersionRecord,
  loadBytes: BytesLoader,
): Promise<Notification> {
  const action = notificationAction(record);
  const nameOnly = action === 'DeleteResource';
  const attributes: NotificationAttributes = {
    action,
    resourceType: 'Binary',
    organizationId: record.org,
    resourceId: record.id,
    versionId: String(record.vid),
    lastUpdatedTime: record.lastUpdated,
    payloadType: nameOnly ? 'NameOnly' : 'FullResource',
  };
  if (nameOnly) return { attributes, body: `Binary/${record.id}` };

  const data = await loadVersionData(record, loadBytes);
  return { attributes, body: JSON.stringify(toFhir(record, data)) };
}
