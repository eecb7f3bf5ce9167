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

/** Where notifications go; the SNS adapter implements it (functions/adapters/sns-publisher.ts). */
export interface NotificationPublisher {
  /** Publishes once; a retry of the same version must not leave extra state behind. */
  publish(notification: Notification): Promise<void>;
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
