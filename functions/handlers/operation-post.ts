import { exportKickoff } from '../core/export';
import { startUpload } from '../core/upload';
import { validateBinary } from '../core/validate';
import { fhirHandler } from '../http/handler';

/**
 * POST [base]/Binary/$… and [base]/Binary/{id}/$…: one gateway route each (functions/routes.ts),
 * so one function for the operations behind them; it matches the operation segment itself.
 */
export const handler = fhirHandler({
  'upload-start': startUpload,
  'upload-start-id': startUpload,
  validate: validateBinary,
  'export-kickoff-post': exportKickoff,
});
