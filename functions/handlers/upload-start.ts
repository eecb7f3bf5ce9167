import { startUpload } from '../core/upload';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ 'upload-start': startUpload, 'upload-start-id': startUpload });
