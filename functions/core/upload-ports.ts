/**
 * Ports of the `$upload` protocol (docs/API.md C28–C30): S3 multipart uploads driven by presigned part
 * URLs, and the upload sessions that remember them. Adapters: ../adapters/s3-multipart.ts and
 * ../adapters/dynamo-upload-sessions.ts. The core never imports an AWS type.
 */
import type { CoreDeps } from './ports';

/** A part the object store already holds for an upload in progress. */
export interface StoredPart {
  partNumber: number;
  size: number;
  /** Opaque part tag the store needs to complete; never shown to clients (C30: no ETags). */
  etag: string;
}

export interface MultipartCreateOptions {
  /** Stored on the object: every GET, presigned ones included, returns it (C19). */
  contentType: string;
}

/** S3 multipart uploads, one per upload session. Objects are stored as attachments. */
export interface MultipartStore {
  /** Starts a multipart upload of `key`; returns the store's upload id. */
  create(key: string, options: MultipartCreateOptions): Promise<string>;
  /** A URL that PUTs the bytes of one part directly to the store, valid `expiresInSeconds`. */
  presignPart(key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<string>;
  /** The parts uploaded so far; undefined when the multipart upload no longer exists. */
  listParts(key: string, uploadId: string): Promise<StoredPart[] | undefined>;
  /**
   * Assembles the object from `parts` (ascending part numbers). Throws PartsRejectedError when
   * the store refuses the parts themselves (S3 `EntityTooSmall`, `InvalidPart`, …), and
   * UploadGoneError when the multipart upload no longer exists (it may have been completed by an
   * earlier call that was cut off).
   */
  complete(key: string, uploadId: string, parts: StoredPart[]): Promise<void>;
  /** Drops the upload and its parts; no error when it is already gone. */
  abort(key: string, uploadId: string): Promise<void>;
  /** Size of the object, undefined when it does not exist. */
  head(key: string): Promise<{ size: number } | undefined>;
  /** Streams the inclusive byte range [start, end] of the object. */
  stream(key: string, range: { start: number; end: number }): AsyncIterable<Uint8Array>;
}

/** The store refused to assemble the parts as they are (the client can upload them again). */
export class PartsRejectedError extends Error {
  constructor(
    message: string,
    /** The store's error code, e.g. `EntityTooSmall`. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'PartsRejectedError';
  }
}

/** The multipart upload is gone from the store (completed or aborted). */
export class UploadGoneError extends Error {
  constructor() {
    super('multipart upload no longer exists');
    this.name = 'UploadGoneError';
  }
}

/** How an upload session ended; the session is kept until it expires so repeats answer alike (C30). */
export type UploadEnd = 'completed' | 'aborted' | 'rejected';

/** What the session of one `$upload` remembers between start, status and completion. */
export interface UploadSession {
  uploadId: string;
  org: string;
  id: string;
  /** create: POST [base]/Binary/$upload (new id, must stay new); update: [base]/Binary/{id}/$upload. */
  mode: 'create' | 'update';
  blobKey: string;
  /** The object store's multipart upload id. */
  storeUploadId: string;
  contentType: string;
  securityContext?: string;
  size: number;
  /** Base64 SHA-256 the client declared for the whole content. */
  sha256?: string;
  partSize: number;
  partCount: number;
  /** Epoch seconds after which the session no longer completes. */
  expiresAt: number;
  /**
   * Epoch seconds when a completion asked storage to assemble the parts. S3 may take minutes to
   * complete a large upload and keeps going when the function that asked is cut off, so a retry
   * that finds the upload gone and no object yet waits (202) instead of calling it lost.
   */
  assemblingSince?: number;
  /** The multipart upload was assembled into the object (a retried completion skips it). */
  assembled?: boolean;
  /** The declared sha256 was checked against the object (a retried completion skips it). */
  verified?: boolean;
  /**
   * Checkpoint of the sha256 check: the hasher's saved state (base64) after the first
   * `hashedBytes` bytes, so a completion cut off mid-hash (time budget, crash) resumes there.
   */
  hashState?: string;
  hashedBytes?: number;
  /** Set once the session ended; a repeated complete or abort answers from it (C30). */
  ended?: UploadEnd;
  /** completed: the version the upload became. */
  vid?: number;
  /** rejected: why (the 422's diagnostics, repeated to a retry). */
  reason?: string;
}

/** The fields a completion or abort records as it goes. */
export type UploadProgress = Partial<
  Pick<
    UploadSession,
    'assemblingSince' | 'assembled' | 'verified' | 'hashState' | 'hashedBytes' | 'ended' | 'vid' | 'reason'
  >
>;

export interface UploadSessionStore {
  put(session: UploadSession): Promise<void>;
  get(uploadId: string): Promise<UploadSession | undefined>;
  /** Records progress of a completion so a retry resumes there, or how the session ended. */
  mark(uploadId: string, progress: UploadProgress): Promise<void>;
  delete(uploadId: string): Promise<void>;
}

/** Limits of the upload protocol, resolved once from configuration (functions/config.ts). */
export interface UploadConfig {
  /** Largest declared size of a new Binary (1 GiB). */
  maxCreateBytes: number;
  /** Largest declared size of a new version of an existing Binary (2 GiB). */
  maxUpdateBytes: number;
  /** Seconds a presigned part URL stays valid (C28: at most 3600). */
  partUrlSeconds: number;
  /** Seconds a session accepts parts and completion. */
  sessionSeconds: number;
  /**
   * Verification of a declared sha256 reads the object in ranges of this size, `verifyParallel`
   * at a time (S3 serves parallel ranged GETs faster than one stream); 0 = one streaming GET.
   */
  verifyRangeBytes: number;
  verifyParallel: number;
  /**
   * The sha256 check saves its state in the session every this many bytes, so a completion that
   * is killed mid-hash loses at most this much work.
   */
  verifyCheckpointBytes: number;
  /**
   * The sha256 check stops when the request has less than this many milliseconds left (enough
   * to save the checkpoint and answer, or to commit); the next request continues (202 +
   * Retry-After).
   */
  verifyReserveMs: number;
}

/** What the `$upload` operations need: the core's ports plus the multipart store and sessions. */
export interface UploadDeps extends CoreDeps {
  multipart: MultipartStore;
  sessions: UploadSessionStore;
  upload: UploadConfig;
}
