import { metadata } from '../core/capabilities';
import { fhirHandler } from '../http/handler';
import { MAX_DIRECT_BODY_BYTES, MAX_FHIR_DATA_BYTES } from '../limits';
import { routes } from '../routes';

export const handler = fhirHandler(
  'metadata',
  'public',
  metadata(routes, { bodyBytes: MAX_DIRECT_BODY_BYTES, fhirDataBytes: MAX_FHIR_DATA_BYTES }),
);
