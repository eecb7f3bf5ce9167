import { uploadStatus } from '../core/upload';
import { fhirHandler } from '../http/handler';
import { uploadDeps } from '../http/upload-deps';

export const handler = fhirHandler('upload-status', 'write', (req, deps) =>
  uploadStatus(req, uploadDeps(deps)),
);
