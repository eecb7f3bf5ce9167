import { searchBinary } from '../core/search';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ search: searchBinary });
