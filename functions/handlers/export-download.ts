import { exportDownload } from '../core/export';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler('export-download', 'read', exportDownload);
