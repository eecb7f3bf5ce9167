import { historyType } from '../core/history';
import { fhirHandler } from '../http/handler';
import { withQueries } from '../http/query-deps';

export const handler = fhirHandler('history-type', 'read', withQueries(historyType));
