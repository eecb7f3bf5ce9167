import { type PathMatcher, pathMatcher, type RouteDef, routes } from '../functions/routes';

export interface Match {
  route: RouteDef;
  params: Record<string, string>;
}

interface Compiled {
  route: RouteDef;
  matcher: PathMatcher;
}

// The gateway routes of functions/routes.ts (`$…` segments are path variables there, as on AWS).
// API Gateway prefers the route with more literal segments (`/Binary/_history` over `/Binary/{id}`).
const compiled: Compiled[] = routes
  .map((route) => ({ route, matcher: pathMatcher(route.path) }))
  .sort((a, b) => b.matcher.literals - a.matcher.literals);

/**
 * Matches like API Gateway HTTP API: the most specific path, then the method. `path` is decoded
 * first, as API Gateway decodes it before routing (`/Binary/%24upload` is `/Binary/$upload`).
 */
export function matchRoute(method: string, path: string): Match | { allowed: string[] } | undefined {
  const allowed = new Set<string>();
  let best: Compiled | undefined;
  for (const c of compiled) {
    const params = c.matcher.match(path);
    if (!params) continue;
    if (best && c.matcher.literals < best.matcher.literals) break;
    best ??= c;
    allowed.add(c.route.method);
    if (c.route.method === method) return { route: c.route, params };
  }
  return allowed.size > 0 ? { allowed: [...allowed] } : undefined;
}

/**
 * The request path as API Gateway HTTP API hands it to routing and to the function (`rawPath`):
 * percent-decoded. A malformed escape is left as it is.
 */
export function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}
