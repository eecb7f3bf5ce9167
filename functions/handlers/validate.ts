import { validateBinary } from '../core/validate';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler('validate', 'read', validateBinary);
