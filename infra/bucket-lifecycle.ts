/**
 * The data bucket's rule for multipart uploads never completed (C30): S3 aborts them (and drops
 * their parts) this many days after they started. One definition for the stack (infra/storage.ts,
 * where a prop may override the days) and the local S3 stand-in (local/provision.ts).
 */
export const ABORT_INCOMPLETE_UPLOADS = { id: 'abort-incomplete-uploads', days: 2 } as const;
