import { readSearchParameter } from '../core/definitions';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler('search-parameter', 'public', readSearchParameter);
