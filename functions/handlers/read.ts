import { exportKickoff } from '../core/export';
import { readBinary } from '../core/operations';
import { fhirHandler } from '../http/handler';

/** GET|HEAD [base]/Binary/{id}: read, and the GET `$export` kick-off behind the same gateway route. */
export const handler = fhirHandler({ read: readBinary, 'export-kickoff-get': exportKickoff });
