import { exportCancel } from '../core/export';
import { abortUpload } from '../core/upload';
import { fhirHandler } from '../http/handler';

/** DELETE [base]/Binary/$upload/{uploadId} and [base]/Binary/$export/{jobId}: one gateway route, one function. */
export const handler = fhirHandler({ 'upload-abort': abortUpload, 'export-cancel': exportCancel });
