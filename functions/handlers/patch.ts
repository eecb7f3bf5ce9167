import { patchBinary } from '../core/patch';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ patch: patchBinary });
