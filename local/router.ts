import { RouteMatcher } from '../functions/core/route-match';
import { routes } from '../functions/routes';

// The gateway routes of functions/routes.ts (`$…` segments are path variables there, as on AWS).
const matcher = new RouteMatcher(routes);

/** The route API Gateway would pick (functions/core/route-match.ts); undefined = `$default`. */
export const matchRoute = (method: string, path: string) => matcher.match(method, path);

/**
 * The request path as API Gateway HTTP API hands it to routing and to the function (`rawPath`):
 * percent-decoded (`/Binary/%24upload` is `/Binary/$upload`). A malformed escape is left as sent.
 */
export function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}
