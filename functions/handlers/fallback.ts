import { fallback } from '../core/fallback';
import { fhirHandler } from '../http/handler';
import { routes } from '../routes';

/** The `$default` route's function (C40): 404, 405 and 501 as OperationOutcomes. */
export const handler = fhirHandler('fallback', 'public', fallback(routes), { tenant: false });
