/**
 * The `$upload` documents on the wire (docs/API.md C28–C30), shared by the server (./upload.ts)
 * and its clients (clients/binary-transfer.ts): what a client sends to start, and what start and
 * status answer.
 */

/** The body of `POST [base]/Binary/$upload` and `POST [base]/Binary/{id}/$upload` (C28). */
export interface UploadStartRequest {
  /** The MIME type of the file, stored on the object and the Binary. */
  contentType: string;
  /** The exact size in bytes. */
  size: number;
  /** `securityContext.reference`, e.g. `Patient/123` (a `{reference}` object is accepted too). */
  securityContext?: string;
  /** Base64 SHA-256 of the whole file: completion checks it (C30). */
  sha256?: string;
  /** Bytes per part (at least 5 MiB); the server chooses otherwise. */
  partSize?: number;
}

/** One presigned URL: PUT the part's bytes to it, nothing else (C28). */
export interface UploadPartUrl {
  partNumber: number;
  url: string;
}

/** What start (201) answers. */
export interface UploadStartDocument {
  uploadId: string;
  /** The Binary's id: the one given, or a new one. */
  id: string;
  size: number;
  partSize: number;
  parts: UploadPartUrl[];
  /** ISO instant after which the session no longer completes. */
  expiresAt: string;
  /** The status URL (also the `Location` header); DELETE on it aborts. */
  status: string;
  /** POST here (with the token) to complete. */
  complete: string;
  abort: string;
}

/** What status (C29, `GET [base]/Binary/$upload/{uploadId}`) answers: held parts, URLs for the rest. */
export interface UploadStatusDocument {
  uploadId: string;
  id: string;
  size: number;
  partSize: number;
  partCount: number;
  /** `completed`: the version exists (`location`); a resent completion answers the same. */
  state: 'uploading' | 'assembled' | 'completed';
  /** Bytes of the declared sha256 checked so far, while a completion verifies. */
  verifiedBytes?: number;
  /** The committed version, once completed. */
  location?: string;
  uploaded: { partNumber: number; size: number }[];
  parts: UploadPartUrl[];
  expiresAt: string;
  complete: string;
  abort: string;
}
