import { historyInstance } from '../core/history';
import { fhirHandler } from '../http/handler';
import { withQueries } from '../http/query-deps';

export const handler = fhirHandler('history-instance', 'read', withQueries(historyInstance));
