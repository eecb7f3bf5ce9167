import type { BlobIntent, CoreDeps } from './ports';
import type { MultipartStore } from './upload-ports';

/**
 * Reclaims the bytes of an intent that expired: a write that staged bytes and never committed.
 * The commit consumes its intent in the same transaction, so an expired intent normally means
 * uncommitted bytes; the extra check that no version refers to the key keeps committed bytes
 * safe even if that invariant were ever broken. An `$upload` intent also aborts its multipart
 * upload (its parts are bytes too). Returns true when bytes were deleted.
 */
export async function reapIntent(
  deps: Pick<CoreDeps, 'repo' | 'blobs'> & { multipart?: Pick<MultipartStore, 'abort'> },
  intent: Pick<BlobIntent, 'blobKey' | 'org' | 'id' | 'multipartUploadId'>,
): Promise<boolean> {
  if (await deps.repo.isCommitted(intent.org, intent.id, intent.blobKey)) return false;
  if (intent.multipartUploadId !== undefined && deps.multipart)
    await deps.multipart.abort(intent.blobKey, intent.multipartUploadId);
  await deps.blobs.delete(intent.blobKey);
  return true;
}
