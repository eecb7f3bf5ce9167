import { startUpload } from '../core/upload';
import { fhirHandler } from '../http/handler';
import { uploadDeps } from '../http/upload-deps';

export const handler = fhirHandler('upload-start', 'write', (req, deps) =>
  startUpload(req, uploadDeps(deps)),
);
