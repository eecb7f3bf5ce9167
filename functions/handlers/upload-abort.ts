import { abortUpload } from '../core/upload';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ 'upload-abort': abortUpload });
