import { uploadStatus } from '../core/upload';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ 'upload-status': uploadStatus });
