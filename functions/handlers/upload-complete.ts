import { completeUpload } from '../core/upload';
import { fhirHandler } from '../http/handler';
import { uploadDeps } from '../http/upload-deps';

export const handler = fhirHandler('upload-complete', 'write', (req, deps) =>
  completeUpload(req, uploadDeps(deps)),
);
