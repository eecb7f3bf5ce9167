import { createBinary } from '../core/operations';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ create: createBinary });
