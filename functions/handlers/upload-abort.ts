import { abortUpload } from '../core/upload';
import { fhirHandler } from '../http/handler';
import { uploadDeps } from '../http/upload-deps';

export const handler = fhirHandler('upload-abort', 'write', (req, deps) =>
  abortUpload(req, uploadDeps(deps)),
);
