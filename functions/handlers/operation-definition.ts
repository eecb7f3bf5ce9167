import { readOperationDefinition } from '../core/definitions';
import { fhirHandler } from '../http/handler';

export const handler = fhirHandler('operation-definition', 'public', readOperationDefinition);
