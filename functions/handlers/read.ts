import { readBinary } from '../core/operations';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ read: readBinary });
