import { historyInstance } from '../core/history';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler({ 'history-instance': historyInstance });
