import { exportDownload, exportStatus } from '../core/export';
import { uploadStatus } from '../core/upload';
import { fhirHandler } from '../http/handler';

/**
 * GET [base]/Binary/$upload/{uploadId}, [base]/Binary/$export/{jobId} and
 * [base]/Binary/{id}/$export-download: one gateway route (functions/routes.ts), one function.
 */
export const handler = fhirHandler({
  'upload-status': uploadStatus,
  'export-status': exportStatus,
  'export-download': exportDownload,
});
