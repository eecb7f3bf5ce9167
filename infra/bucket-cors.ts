/**
 * The data bucket's CORS rules: one definition for the stack (infra/storage.ts) and for the local
 * S3 stand-in (local/provision.ts), so the browser tests run against what deploys.
 *
 * - GET/HEAD from any origin (C19, #14 item 5): reads over 4 MiB answer 307 to a presigned URL;
 *   after that cross-origin redirect the browser sends `Origin: null`, which a list of origins
 *   never matches. The presigned URL is itself the credential, so any origin may use it.
 * - PUT only from the configured origins (C28): browsers of other sites cannot upload parts even
 *   with a leaked part URL.
 */
export interface BucketCorsRule {
  id: string;
  allowedMethods: ('GET' | 'HEAD' | 'PUT')[];
  allowedOrigins: string[];
  allowedHeaders: string[];
  exposedHeaders: string[];
  maxAgeSeconds: number;
}

export function bucketCorsRules(putOrigins: readonly string[]): BucketCorsRule[] {
  const rules: BucketCorsRule[] = [
    {
      id: 'presigned-reads',
      allowedMethods: ['GET', 'HEAD'],
      allowedOrigins: ['*'],
      allowedHeaders: ['Range', 'If-None-Match', 'If-Modified-Since'],
      exposedHeaders: ['ETag', 'Content-Disposition', 'Content-Range', 'Accept-Ranges', 'Content-Length'],
      maxAgeSeconds: 3000,
    },
  ];
  if (putOrigins.length)
    rules.push({
      id: 'part-uploads',
      allowedMethods: ['PUT'],
      allowedOrigins: [...putOrigins],
      allowedHeaders: ['*'],
      exposedHeaders: ['ETag'],
      maxAgeSeconds: 3000,
    });
  return rules;
}
