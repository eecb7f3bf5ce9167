/**
 * Ports the core needs from storage. Adapters in ../adapters implement them on DynamoDB and S3;
 * the core never imports an AWS type.
 */

/** How a version came to be; drives history entries (C24) and notifications (C32). */
export type WriteMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One version of one Binary, as stored. `resource` is the Binary's JSON without `id`,
 * `meta.versionId`, `meta.lastUpdated` and `data`: the bytes live in the blob store.
 */
export interface VersionRecord {
  org: string;
  id: string;
  vid: number;
  /** FHIR instant with milliseconds, UTC (C5). Strictly increasing within one resource. */
  lastUpdated: string;
  method: WriteMethod;
  /** True when this version brought the resource (back) into existence: 201 Created. */
  created: boolean;
  deleted: boolean;
  /** JSON text of the Binary without id, versioning meta and data; absent on delete versions. */
  resource?: string;
  contentType?: string;
  securityContext?: string;
  language?: string;
  /** Decoded size of the data in bytes (0 when there is none). */
  size: number;
  /** Blob key of the bytes; absent when size is 0 or the version is a delete. */
  blobKey?: string;
  /** Base64 SHA-256 of the bytes, when known. */
  sha256?: string;
}

/** Thrown by `commit` when the expected current version is no longer current. */
export class VersionConflictError extends Error {
  constructor(
    /** The head that won, when the store reports it (saves a read before the retry). */
    readonly current?: VersionRecord,
  ) {
    super('version conflict');
    this.name = 'VersionConflictError';
  }
}

/**
 * Thrown by a blob store when what it holds after a write is not what was sent (size, or the
 * checksum the store computed): an emulator or network fault. Nothing may be committed on it.
 */
export class StoredBytesMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoredBytesMismatchError';
  }
}

export interface CommitOptions {
  /** Version the head must be at for the commit to apply; 0 = the resource must not exist. */
  expectedVid: number;
  /** Intent (or upload session) whose bytes this commit adopts; it is consumed atomically. */
  intentKey?: string;
}

export interface VersionRepository {
  /** The current version (head), including a delete version; undefined when never created. */
  current(org: string, id: string): Promise<VersionRecord | undefined>;
  version(org: string, id: string, vid: number): Promise<VersionRecord | undefined>;
  /**
   * Writes `record` as the new current version in one transaction: the version item, the head
   * on `expectedVid`, and the consumption of the intent. Throws VersionConflictError when the
   * head moved (or the intent is gone).
   */
  commit(record: VersionRecord, options: CommitOptions): Promise<void>;
  /** Records that bytes are about to be written under `blobKey` (orphan protection). */
  putIntent(intent: BlobIntent): Promise<void>;
  /**
   * Hands the bytes of an intent that will never be committed to the reaper: the intent's expiry
   * becomes `at` (epoch seconds, now), so the TTL service removes it and the reaper deletes the
   * bytes after checking no version refers to them. Writers never delete objects themselves: the
   * bucket policy lets only the reaper delete tenant objects (#14.8). An intent that is gone
   * (consumed by a commit, or already removed) stays gone.
   */
  expireIntent(blobKey: string, at: number): Promise<void>;
  /** True when some committed version of that resource refers to `blobKey`. */
  isCommitted(org: string, id: string, blobKey: string): Promise<boolean>;
}

export interface BlobIntent {
  blobKey: string;
  org: string;
  id: string;
  /** Epoch seconds after which the bytes are reclaimed if still uncommitted. */
  expiresAt: number;
  /** The object store's multipart upload id when the bytes arrive through `$upload` (C30). */
  multipartUploadId?: string;
}

export interface BlobPutOptions {
  contentType: string;
  sha256?: string;
}

/** Bytes by key. Objects are immutable: a key is written once. */
export interface BlobStore {
  /**
   * Stores `bytes` and checks that the store holds exactly them (its SHA-256 when the store
   * reports one, else the size): throws StoredBytesMismatchError when not.
   */
  put(key: string, bytes: Uint8Array, options: BlobPutOptions): Promise<void>;
  /** Reads all bytes, or the inclusive range [start, end]. */
  get(key: string, range?: { start: number; end: number }): Promise<Uint8Array>;
  delete(key: string): Promise<void>;
  /**
   * Copies the `size` bytes of `from` to the new key `to`, stored with `options` (the store
   * copies server-side: the bytes never pass through the function). Throws
   * StoredBytesMismatchError when the copy does not hold `size` bytes.
   */
  copy(from: string, to: string, size: number, options: BlobPutOptions): Promise<void>;
  /** A URL that GETs the object directly, valid for `expiresInSeconds`. */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
}

/** Limits and switches the core needs, resolved once from configuration. */
export interface CoreConfig {
  /** Largest decoded data accepted by a direct (non-upload) write (C13). */
  maxDirectBytes: number;
  /** Largest data returned inline; over it raw reads redirect and FHIR JSON omits data (C19). */
  maxInlineBytes: number;
  /** Seconds a presigned GET stays valid (C19: at most 300). */
  presignGetSeconds: number;
  /** Seconds before an uncommitted blob is reclaimed. */
  intentTtlSeconds: number;
  /**
   * Milliseconds a commit needs at most (head read, transaction, a retry): with less time left
   * the request is refused with 503 before it commits, never cut off after (write.ts, C7).
   */
  commitReserveMs: number;
  /** Largest JSON of a Binary without its data (meta, securityContext, extensions) (C39). */
  maxResourceBytes: number;
}

export interface CoreDeps {
  repo: VersionRepository;
  blobs: BlobStore;
  config: CoreConfig;
  /**
   * Milliseconds this request may still run (Lambda's `getRemainingTimeInMillis`, the local
   * server's equivalent); undefined = no limit.
   */
  remainingMs?: () => number;
  /** Injectable clock and randomness for tests. */
  now?: () => Date;
  newId?: () => string;
}
