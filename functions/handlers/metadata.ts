import { metadata } from '../core/capabilities';
import { fhirHandler } from '../http/handler';
import { MAX_DIRECT_BODY_BYTES, MAX_FHIR_DATA_BYTES } from '../limits';
import { operations } from '../routes';

export const handler = fhirHandler({
  metadata: metadata(operations, { bodyBytes: MAX_DIRECT_BODY_BYTES, fhirDataBytes: MAX_FHIR_DATA_BYTES }),
});
