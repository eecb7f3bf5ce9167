import type { BlobIntent, CoreDeps } from './ports';
import type { MultipartStore } from './upload-ports';
import { blobKeyPrefix } from './write';

/**
 * Reclaims the bytes of an intent that expired: a write that staged bytes and never committed.
 * The commit consumes its intent in the same transaction, so an expired intent normally means
 * uncommitted bytes; the extra check that no version refers to the key keeps committed bytes
 * safe even if that invariant were ever broken. An `$upload` intent also aborts its multipart
 * upload (its parts are bytes too). Returns true when bytes were deleted.
 *
 * The reaper is the only principal that may delete tenant objects (#14.8), and anything with
 * table write access can make an intent expire, so it trusts no intent blindly: the key must be
 * one of that resource's object keys, or `isCommitted` would look at the wrong resource.
 */
export async function reapIntent(
  deps: Pick<CoreDeps, 'repo' | 'blobs'> & { multipart?: Pick<MultipartStore, 'abort'> },
  intent: Pick<BlobIntent, 'blobKey' | 'org' | 'id' | 'multipartUploadId'>,
): Promise<boolean> {
  if (!intent.blobKey.startsWith(blobKeyPrefix(intent.org, intent.id))) return false;
  if (await deps.repo.isCommitted(intent.org, intent.id, intent.blobKey)) return false;
  if (intent.multipartUploadId !== undefined && deps.multipart)
    await deps.multipart.abort(intent.blobKey, intent.multipartUploadId);
  await deps.blobs.delete(intent.blobKey);
  return true;
}
