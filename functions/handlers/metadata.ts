import { metadata } from '../core/capabilities';
import { fhirHandler } from '../http/handler';
import { operations } from '../routes';

export const handler = fhirHandler({ metadata: metadata(operations) });
