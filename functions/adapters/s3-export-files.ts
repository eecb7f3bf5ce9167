import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NDJSON_CONTENT_TYPE } from '../core/export';
import type { ExportFileStore, ExportFileWriter } from '../core/export-ports';
import { SERVICE_KEY_PREFIX } from '../core/ids';

/**
 * Key prefix of bulk export files (C35): `_exports/{org}/{jobId}/{name}`. Keys starting with `_`
 * are the service's own, never a tenant's Binary; the stack expires this prefix after the
 * export retention (infra/storage.ts).
 */
export const EXPORTS_PREFIX = `${SERVICE_KEY_PREFIX}exports/`;

const jobPrefix = (org: string, jobId: string) => `${EXPORTS_PREFIX}${org}/${jobId}/`;

/**
 * Export files as S3 objects, streamed with lib-storage's Upload (multipart past 5 MiB), so a
 * file of any size passes through a bounded buffer and becomes visible only when complete.
 */
export class S3ExportFiles implements ExportFileStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  open(org: string, jobId: string, name: string): ExportFileWriter {
    const body = new PassThrough();
    const upload = new Upload({
      client: this.s3,
      params: {
        Bucket: this.bucket,
        Key: `${jobPrefix(org, jobId)}${name}`,
        Body: body,
        ContentType: NDJSON_CONTENT_TYPE,
      },
    });
    const done = upload.done();
    // Seen by finish() or abort(); never an unhandled rejection in between.
    done.catch(() => undefined);
    return {
      async write(line) {
        if (!body.write(line)) await Promise.race([once(body, 'drain'), done]);
      },
      async finish() {
        body.end();
        await done;
      },
      async abort() {
        await upload.abort().catch(() => undefined);
        body.destroy();
      },
    };
  }

  async size(org: string, jobId: string, name: string): Promise<number | undefined> {
    try {
      const out = await this.s3.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: `${jobPrefix(org, jobId)}${name}` }),
      );
      return out.ContentLength;
    } catch (e) {
      if ((e as Error).name === 'NotFound' || (e as Error).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }

  async read(org: string, jobId: string, name: string): Promise<Uint8Array> {
    const out = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: `${jobPrefix(org, jobId)}${name}` }),
    );
    return out.Body!.transformToByteArray();
  }

  presignGet(org: string, jobId: string, name: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({ Bucket: this.bucket, Key: `${jobPrefix(org, jobId)}${name}` }),
      { expiresIn: expiresInSeconds },
    );
  }

  async removeAll(org: string, jobId: string): Promise<void> {
    const pages = paginateListObjectsV2(
      { client: this.s3 },
      { Bucket: this.bucket, Prefix: jobPrefix(org, jobId) },
    );
    for await (const page of pages) {
      const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length === 0) continue;
      await this.s3.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }),
      );
    }
  }
}
