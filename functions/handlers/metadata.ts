import { metadata } from '../core/capabilities';
import { fhirHandler } from '../http/handler';
import { routes } from '../routes';

export const handler = fhirHandler('metadata', 'public', metadata(routes));
