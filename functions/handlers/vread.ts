import { vreadBinary } from '../core/operations';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ vread: vreadBinary });
