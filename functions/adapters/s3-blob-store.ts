import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type BlobPutOptions, type BlobStore, StoredBytesMismatchError } from '../core/ports';

const MiB = 1024 * 1024;

/**
 * How `copy` splits work: always CreateMultipartUpload + UploadPartCopy of `partBytes` each,
 * `parallel` at a time, + a create-only CompleteMultipartUpload. A 2 GiB copy is 16 part copies,
 * 8 at a time, well inside the 29 s a function behind API Gateway has. Never CopyObject: the
 * bucket policy requires `If-None-Match: *` on object-creating requests (#14.8), and S3 refuses a
 * CopyObject under such a policy with or without the header (S3 User Guide, "Enforce conditional
 * writes on Amazon S3 buckets"), while UploadPartCopy is exempt and the completion carries it.
 */
export interface CopyTuning {
  partBytes: number;
  parallel: number;
}
const DEFAULT_COPY: CopyTuning = { partBytes: 128 * MiB, parallel: 8 };

/** Create-only writes (#14.8): S3 answers 412 instead of replacing an object under the key. */
const CREATE_ONLY = { IfNoneMatch: '*' } as const;

const isPreconditionFailed = (e: unknown) =>
  (e as Error).name === 'PreconditionFailed' ||
  (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412;

/**
 * Blobs as S3 objects. ContentType and `Content-Disposition: attachment` are stored on the object
 * itself, so a presigned GET (and a leaked one) serves them without response overrides, which
 * moto ignores (docs/ARCHITECTURE.md).
 */
export class S3BlobStore implements BlobStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly tuning: CopyTuning = DEFAULT_COPY,
  ) {}

  /**
   * S3 checks a sent ChecksumSHA256 against the bytes it received (BadDigest otherwise) and
   * returns it; a store that returns none (moto) is checked by its ETag or the stored size. Either
   * way a wrong object is an error here, never a silently committed version (#11).
   *
   * Create-only (`If-None-Match: *`, #14.8): keys are new per write, so an object already under
   * the key can only be this write's own, stored by an attempt whose answer was lost (the SDK
   * retried); it is verified like a fresh one, never replaced.
   */
  async put(key: string, bytes: Uint8Array, options: BlobPutOptions): Promise<void> {
    let out: { ChecksumSHA256?: string; ETag?: string };
    try {
      out = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.length,
          ContentType: options.contentType,
          ContentDisposition: 'attachment',
          ...(options.sha256 ? { ChecksumSHA256: options.sha256 } : {}),
          ...CREATE_ONLY,
        }),
      );
    } catch (e) {
      if ((e as Error).name === 'BadDigest' || (e as Error).name === 'InvalidDigest')
        throw new StoredBytesMismatchError(`${key}: the store received other bytes than were sent`);
      if (isPreconditionFailed(e)) return this.expectStored(key, bytes.length, options.sha256);
      throw e;
    }
    if (options.sha256 && out.ChecksumSHA256) {
      if (out.ChecksumSHA256 !== options.sha256)
        throw new StoredBytesMismatchError(
          `${key}: stored SHA-256 ${out.ChecksumSHA256}, sent ${options.sha256}`,
        );
      return;
    }
    // Without a checksum (moto), a single PUT's ETag is the MD5 of what was stored: equal means
    // verified without another request; anything else is settled by the stored size.
    if (out.ETag?.replaceAll('"', '') === createHash('md5').update(bytes).digest('hex')) return;
    await this.expectStored(key, bytes.length);
  }

  /** The object under `key` has `size` bytes and, when S3 returns one, this SHA-256. */
  private async expectStored(key: string, size: number, sha256?: string): Promise<void> {
    const head = await this.s3.send(
      new HeadObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(sha256 ? { ChecksumMode: 'ENABLED' } : {}),
      }),
    );
    if (head.ContentLength !== size)
      throw new StoredBytesMismatchError(`${key}: stored ${head.ContentLength} bytes, sent ${size}`);
    if (sha256 && head.ChecksumSHA256 && head.ChecksumSHA256 !== sha256)
      throw new StoredBytesMismatchError(`${key}: stored SHA-256 ${head.ChecksumSHA256}, sent ${sha256}`);
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Uint8Array> {
    const out = await this.s3.send(
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    return out.Body ? out.Body.transformToByteArray() : new Uint8Array(0);
  }

  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async copy(from: string, to: string, size: number, options: BlobPutOptions): Promise<void> {
    const source = `${this.bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}`;
    const { partBytes, parallel } = this.tuning;
    const { UploadId } = await this.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: to,
        ContentType: options.contentType,
        ContentDisposition: 'attachment',
      }),
    );
    try {
      const count = Math.max(1, Math.ceil(size / partBytes));
      const etags: string[] = new Array(count);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < count; i = next++) {
          const start = i * partBytes;
          const end = Math.min(size, start + partBytes) - 1;
          const out = await this.s3.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: to,
              UploadId,
              PartNumber: i + 1,
              CopySource: source,
              CopySourceRange: `bytes=${start}-${end}`,
            }),
          );
          etags[i] = out.CopyPartResult?.ETag ?? '';
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
      try {
        await this.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId,
            MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
            ...CREATE_ONLY,
          }),
        );
      } catch (e) {
        // `to` is new per copy: an object there is this copy's own, completed by a lost attempt.
        if (!isPreconditionFailed(e)) throw e;
      }
      await this.expectStored(to, size);
    } catch (e) {
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId }))
        .catch(() => undefined); // the bucket's lifecycle rule aborts it later
      throw e;
    }
  }

  presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }
}
