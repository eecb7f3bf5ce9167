import { RouteMatcher } from '../functions/core/route-match';
import { routes } from '../functions/routes';

const matcher = new RouteMatcher(routes);

/** The route API Gateway would pick (functions/core/route-match.ts); undefined = `$default`. */
export const matchRoute = (method: string, path: string) => matcher.match(method, path);
