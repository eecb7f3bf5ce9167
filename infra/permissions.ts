import type { RouteDef } from '../functions/routes';

/**
 * What a function may do with the table and the bucket. Each maps to IAM actions in
 * `grantCapabilities` (infra/service-function.ts); KMS use of the service key follows from them.
 */
export type Capability =
  /** GetItem, Query, BatchGetItem, … on the table and its indexes. */
  | 'table:read'
  /** PutItem, UpdateItem, DeleteItem, TransactWriteItems, … on the table. */
  | 'table:write'
  /** s3:GetObject on every key (HeadObject and presigned GETs included, C19). */
  | 'bucket:read'
  /** s3:PutObject on every key (keys are random per version and never overwritten). */
  | 'bucket:put'
  /** s3:DeleteObject on every key. */
  | 'bucket:delete'
  /**
   * Multipart uploads (C28–C30): CreateMultipartUpload, UploadPart (presigned) and
   * CompleteMultipartUpload are authorized by s3:PutObject; ListParts by
   * s3:ListMultipartUploadParts; AbortMultipartUpload by s3:AbortMultipartUpload.
   */
  | 'bucket:multipart';

/** Safe defaults by access level: a new route gets these unless it is listed below. */
export const defaultCapabilities: Record<RouteDef['access'], Capability[]> = {
  // Public routes (the CapabilityStatement, C27) touch no data.
  public: [],
  read: ['table:read', 'bucket:read'],
  // Writes stage bytes before the commit and delete them when it fails (core/write.ts); patch
  // (C22) reads the old bytes.
  write: ['table:read', 'table:write', 'bucket:read', 'bucket:put', 'bucket:delete'],
};

/** Upload routes (`upload-*`, C28–C30): writes plus multipart. */
const uploadCapabilities: Capability[] = [...defaultCapabilities.write, 'bucket:multipart'];

/** Routes that need something other than the default of their access level, by route name. */
export const routeCapabilities: Record<string, Capability[]> = {
  // A delete only writes a delete version; earlier bytes stay readable by vread (C23).
  delete: ['table:read', 'table:write'],
  // A new contentType on unchanged bytes copies the object (C19), by parts when it is large.
  patch: [...defaultCapabilities.write, 'bucket:multipart'],
  // Bulk export (C35): the job and the tenant's lock are table items; the export files are
  // granted on the `_exports/` prefix only, with the worker (infra/exports.ts).
  'export-kickoff': ['table:read', 'table:write'],
  'export-status': ['table:read'],
  'export-cancel': ['table:read', 'table:write'],
  'export-download': ['table:read'],
};

/** The capabilities of the function that serves the route `name`. */
export function capabilitiesFor(name: string, access: RouteDef['access']): Capability[] {
  return (
    routeCapabilities[name] ?? (name.startsWith('upload-') ? uploadCapabilities : defaultCapabilities[access])
  );
}
