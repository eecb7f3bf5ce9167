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
  /** Assembles the object from `parts` (ascending part numbers). */
  complete(key: string, uploadId: string, parts: StoredPart[]): Promise<void>;
  /** Drops the upload and its parts; no error when it is already gone. */
  abort(key: string, uploadId: string): Promise<void>;
  /** Size of the object, undefined when it does not exist. */
  head(key: string): Promise<{ size: number } | undefined>;
  /** Streams the inclusive byte range [start, end] of the object. */
  stream(key: string, range: { start: number; end: number }): AsyncIterable<Uint8Array>;
}

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
  /** The multipart upload was assembled into the object (a retried completion skips it). */
  assembled?: boolean;
  /** The declared sha256 was checked against the object (a retried completion skips it). */
  verified?: boolean;
}

export interface UploadSessionStore {
  put(session: UploadSession): Promise<void>;
  get(uploadId: string): Promise<UploadSession | undefined>;
  /** Records progress of a completion (assembled / verified) so a retry resumes there. */
  mark(uploadId: string, progress: Pick<UploadSession, 'assembled' | 'verified'>): Promise<void>;
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
}

/** What the `$upload` operations need: the core's ports plus the multipart store and sessions. */
export interface UploadDeps extends CoreDeps {
  multipart: MultipartStore;
  sessions: UploadSessionStore;
  upload: UploadConfig;
}
