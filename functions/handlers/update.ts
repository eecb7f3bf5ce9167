import { updateBinary } from '../core/operations';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ update: updateBinary });
