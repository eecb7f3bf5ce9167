import { deleteBinary } from '../core/operations';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ delete: deleteBinary });
