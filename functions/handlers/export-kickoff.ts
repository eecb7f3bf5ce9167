import { exportKickoff } from '../core/export';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler('export-kickoff', 'read', exportKickoff);
