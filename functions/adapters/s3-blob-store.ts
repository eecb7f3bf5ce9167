import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobPutOptions, BlobStore } from '../core/ports';

/**
 * Blobs as S3 objects. ContentType and `Content-Disposition: attachment` are stored on the object
 * itself, so a presigned GET (and a leaked one) serves them without response overrides, which
 * moto ignores (docs/ARCHITECTURE.md).
 */
export class S3BlobStore implements BlobStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, bytes: Uint8Array, options: BlobPutOptions): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: options.contentType,
        ContentDisposition: 'attachment',
        ...(options.sha256 ? { ChecksumSHA256: options.sha256 } : {}),
      }),
    );
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

  presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }
}
