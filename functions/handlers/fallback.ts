import { defaultRouteHandler } from '../http/handler';

/** The `$default` route's function (C40): 404, 405 and 501 as OperationOutcomes. */
export const handler = defaultRouteHandler();
