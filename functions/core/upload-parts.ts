import { badRequest } from './outcome';
import type { StoredPart, UploadSession } from './upload-ports';

/* Part arithmetic of `$upload` (C28, C29): part sizes within S3's limits, and which parts are missing. */

const MiB = 1024 * 1024;
/** S3's smallest part (all but the last) and its largest part count. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
/** What the server picks when the client does not ask: the AWS CLI's default chunk size. */
const DEFAULT_PART_SIZE = 8 * MiB;

/** Part size for `size` bytes: the client's wish when valid, else 8 MiB or more to stay ≤ 10,000 parts. */
export function choosePartSize(size: number, requested?: number): number {
  if (requested !== undefined) {
    if (!Number.isSafeInteger(requested) || requested < MIN_PART_SIZE || requested > MAX_PART_SIZE) {
      throw badRequest(
        `partSize ${requested} is invalid: give an integer between ${MIN_PART_SIZE} (5 MiB) and ${MAX_PART_SIZE} (5 GiB), or leave it out.`,
        'value',
      );
    }
    if (Math.ceil(size / requested) > MAX_PARTS) {
      throw badRequest(
        `partSize ${requested} would need ${Math.ceil(size / requested)} parts; at most ${MAX_PARTS} are allowed: use a partSize of at least ${Math.ceil(size / MAX_PARTS)}.`,
        'value',
      );
    }
    return requested;
  }
  const needed = Math.ceil(Math.ceil(size / MAX_PARTS) / MiB) * MiB;
  return Math.max(DEFAULT_PART_SIZE, needed);
}

export const partCount = (size: number, partSize: number) => Math.max(1, Math.ceil(size / partSize));

/** The size of part `n` (1-based) of an upload. */
export const expectedPartSize = (s: Pick<UploadSession, 'size' | 'partSize' | 'partCount'>, n: number) =>
  n < s.partCount ? s.partSize : s.size - s.partSize * (s.partCount - 1);

/** Parts present with the size they must have, and the part numbers still to upload. */
export function partProgress(s: UploadSession, parts: StoredPart[]) {
  const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
  const missing: number[] = [];
  for (let n = 1; n <= s.partCount; n++) {
    if (byNumber.get(n)?.size !== expectedPartSize(s, n)) missing.push(n);
  }
  return { missing };
}
