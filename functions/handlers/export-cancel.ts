import { exportCancel } from '../core/export';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler('export-cancel', 'read', exportCancel);
