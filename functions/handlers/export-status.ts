import { exportStatus } from '../core/export';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler('export-status', 'read', exportStatus);
