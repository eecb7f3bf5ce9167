import { createHash } from 'node:crypto';
import type { MultipartStore } from './upload-ports';

const MiB = 1024 * 1024;

/**
 * SHA-256 of the object, streamed in constant memory: `window` ranged reads run ahead while the
 * hash consumes them in order, so the network and the hash overlap (at most window × chunk bytes
 * are buffered).
 */
export async function sha256OfObject(
  store: Pick<MultipartStore, 'stream'>,
  key: string,
  size: number,
  chunk = 8 * MiB,
  window = 4,
): Promise<string> {
  const hash = createHash('sha256');
  const ranges: { start: number; end: number }[] = [];
  for (let start = 0; start < size; start += chunk)
    ranges.push({ start, end: Math.min(size, start + chunk) - 1 });
  const read = async (r: { start: number; end: number }) => {
    const bufs: Uint8Array[] = [];
    for await (const b of store.stream(key, r)) bufs.push(b);
    return bufs;
  };
  // A single range is hashed as it streams; only read-ahead ranges are buffered.
  if (ranges.length === 1) {
    for await (const b of store.stream(key, ranges[0]!)) hash.update(b);
    return hash.digest('base64');
  }
  const inflight: Promise<Uint8Array[]>[] = [];
  const ahead = (r: { start: number; end: number }) => {
    const p = read(r);
    p.catch(() => {}); // surfaced when awaited in order; never an unhandled rejection meanwhile
    inflight.push(p);
  };
  let next = 0;
  while (next < ranges.length && inflight.length < window) ahead(ranges[next++]!);
  while (inflight.length > 0) {
    const bufs = await inflight.shift()!;
    if (next < ranges.length) ahead(ranges[next++]!);
    for (const b of bufs) hash.update(b);
  }
  return hash.digest('base64');
}
