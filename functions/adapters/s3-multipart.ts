import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  type MultipartCreateOptions,
  type MultipartStore,
  PartsRejectedError,
  type StoredPart,
  UploadGoneError,
} from '../core/upload-ports';

/** S3 errors of CompleteMultipartUpload that are about the parts the client uploaded. */
const PART_ERRORS = new Set(['EntityTooSmall', 'InvalidPart', 'InvalidPartOrder']);

const isMissing = (e: unknown) => {
  const name = (e as Error).name;
  return name === 'NoSuchUpload' || name === 'NotFound' || name === 'NoSuchKey';
};

/**
 * `$upload` (C28–C30) on S3 multipart uploads. ContentType and `Content-Disposition: attachment`
 * go on the multipart upload, so the assembled object serves them on every GET (C19).
 */
export class S3MultipartStore implements MultipartStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async create(key: string, options: MultipartCreateOptions): Promise<string> {
    const out = await this.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: options.contentType,
        ContentDisposition: 'attachment',
      }),
    );
    return out.UploadId!;
  }

  presignPart(key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(
      this.s3,
      new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }),
      { expiresIn: expiresInSeconds },
    );
  }

  /**
   * A loop of our own on IsTruncated, not the SDK's `paginateListParts`: S3 answers the last page
   * with NextPartNumberMarker "0" rather than none, which the generic paginator takes as a token
   * and restarts from the first page, forever (aws-sdk-go-v2#1140, aws-sdk-rust#1143).
   */
  async listParts(key: string, uploadId: string): Promise<StoredPart[] | undefined> {
    const parts: StoredPart[] = [];
    let marker: string | undefined;
    try {
      for (;;) {
        const out = await this.s3.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        );
        for (const p of out.Parts ?? [])
          parts.push({ partNumber: p.PartNumber!, size: p.Size ?? 0, etag: p.ETag ?? '' });
        if (!out.IsTruncated) break;
        marker = out.NextPartNumberMarker;
      }
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Create-only (`If-None-Match: *`, #14.8: the bucket policy refuses a completion without it).
   * The key is new per upload, so an object already there is this upload's own, assembled by an
   * earlier completion whose answer was lost: that is success, and the caller checks its size.
   */
  async complete(key: string, uploadId: string, parts: StoredPart[]): Promise<void> {
    try {
      await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          IfNoneMatch: '*',
        }),
      );
    } catch (e) {
      const name = (e as Error).name;
      if (name === 'PreconditionFailed') return;
      if (PART_ERRORS.has(name)) throw new PartsRejectedError((e as Error).message, name);
      if (name === 'NoSuchUpload') throw new UploadGoneError();
      throw e;
    }
  }

  async abort(key: string, uploadId: string): Promise<void> {
    try {
      await this.s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      );
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0 };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async *stream(key: string, range: { start: number; end: number }): AsyncIterable<Uint8Array> {
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${range.start}-${range.end}` }),
    );
    if (!out.Body) return;
    yield* out.Body as AsyncIterable<Uint8Array>;
  }
}
