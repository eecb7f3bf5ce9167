import { searchBinary } from '../core/search';
import { fhirHandler } from '../http/handler';
import { withQueries } from '../http/query-deps';

export const handler = fhirHandler('search', 'read', withQueries(searchBinary));
