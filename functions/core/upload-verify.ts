import { createSHA256 } from 'hash-wasm';
import type { MultipartStore } from './upload-ports';

const MiB = 1024 * 1024;

/** Where a resumable SHA-256 stands: the hasher's saved state after the first `offset` bytes. */
export interface HashCheckpoint {
  offset: number;
  /** hash-wasm's saved state, base64; absent at offset 0. */
  state?: string;
}

export interface ResumableHashOptions {
  /** Resume from here (a checkpoint saved by an earlier call). */
  from?: HashCheckpoint;
  /** Bytes per ranged read. */
  chunk?: number;
  /** Ranged reads in flight while the hash consumes them in order. */
  window?: number;
  /** Calls `save` whenever at least this many bytes were hashed since the last save. */
  checkpointEvery?: number;
  /** Persists a checkpoint; awaited before hashing goes on. */
  save?: (c: HashCheckpoint) => Promise<void>;
  /**
   * Asked after every chunk: true stops hashing there (the checkpoint is saved and returned), so
   * the caller can answer before its time runs out and continue on the next request.
   */
  pause?: (hashedThisCall: number) => boolean;
}

export type ResumableHashResult =
  | { done: true; digest: string }
  | { done: false; checkpoint: HashCheckpoint };

/**
 * SHA-256 of an object, streamed in constant memory and resumable: `window` ranged reads run
 * ahead while the hash consumes them in order (at most window × chunk bytes are buffered), and
 * the hasher's state (hash-wasm can save and load it; node:crypto cannot) is checkpointed so that
 * a completion cut off mid-hash resumes where it stopped instead of starting over (C30).
 */
export async function resumableSha256(
  store: Pick<MultipartStore, 'stream'>,
  key: string,
  size: number,
  o: ResumableHashOptions = {},
): Promise<ResumableHashResult> {
  const chunk = Math.max(1, o.chunk ?? 8 * MiB);
  const window = Math.max(1, o.window ?? 4);
  const hasher = await createSHA256();
  hasher.init();
  let offset = o.from?.offset ?? 0;
  if (o.from?.state !== undefined && offset > 0) hasher.load(Buffer.from(o.from.state, 'base64'));
  else offset = 0;
  const checkpoint = (): HashCheckpoint => ({
    offset,
    state: Buffer.from(hasher.save()).toString('base64'),
  });

  const ranges: { start: number; end: number }[] = [];
  for (let start = offset; start < size; start += chunk)
    ranges.push({ start, end: Math.min(size, start + chunk) - 1 });
  const read = async (r: { start: number; end: number }) => {
    const bufs: Uint8Array[] = [];
    for await (const b of store.stream(key, r)) bufs.push(b);
    return bufs;
  };
  const inflight: Promise<Uint8Array[]>[] = [];
  const ahead = (r: { start: number; end: number }) => {
    const p = read(r);
    p.catch(() => {}); // surfaced when awaited in order; never an unhandled rejection meanwhile
    inflight.push(p);
  };
  let next = 0;
  let thisCall = 0;
  let saved = offset;
  while (next < ranges.length && inflight.length < window) ahead(ranges[next++]!);
  while (inflight.length > 0) {
    const bufs = await inflight.shift()!;
    for (const b of bufs) {
      hasher.update(b);
      offset += b.length;
      thisCall += b.length;
    }
    if (offset >= size) break;
    if (o.pause?.(thisCall)) {
      const c = checkpoint();
      await o.save?.(c);
      return { done: false, checkpoint: c };
    }
    if (o.save && o.checkpointEvery !== undefined && offset - saved >= o.checkpointEvery) {
      await o.save(checkpoint());
      saved = offset;
    }
    if (next < ranges.length) ahead(ranges[next++]!);
  }
  return { done: true, digest: Buffer.from(hasher.digest('binary')).toString('base64') };
}
