/**
 * Route matching as API Gateway HTTP APIs do it, for the local gateway (local/server.ts) and the
 * `$default` function (core/fallback.ts): a route matches on method and path together; among the
 * matches the most specific path wins (a literal segment beats a `{param}` at the first position
 * where they differ); a request no route matches goes to `$default`.
 */

/** What matching needs of a route table entry (functions/routes.ts RouteDef). */
export interface RoutePattern {
  method: string;
  /** Path with `{param}` segments. */
  path: string;
}

interface Compiled<R> {
  route: R;
  segments: string[];
}

export interface RouteMatch<R> {
  route: R;
  params: Record<string, string>;
}

const isParam = (s: string) => /^\{\w+\}$/.test(s);

/**
 * Path parameters when `path` matches the route's segments, else undefined. With
 * `literalOperations`, a `{param}` never binds a `$…` segment: no id, version, upload, job or
 * organization holds a `$` (C1, C6), so there it names an operation (contract matching; API
 * Gateway itself binds it like any other value).
 */
function bind(
  segments: string[],
  path: string,
  literalOperations = false,
): Record<string, string> | undefined {
  const parts = path.split('/').slice(1);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const p = parts[i]!;
    if (isParam(s)) {
      if (p === '' || (literalOperations && p.startsWith('$'))) return undefined;
      params[s.slice(1, -1)] = p;
    } else if (s !== p) return undefined;
  }
  return params;
}

/** Negative when `a` is more specific than `b`. */
function specificity(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const pa = isParam(a[i]!);
    const pb = isParam(b[i]!);
    if (pa !== pb) return pa ? 1 : -1;
  }
  return 0;
}

export class RouteMatcher<R extends RoutePattern> {
  private readonly compiled: Compiled<R>[];

  constructor(
    routes: readonly R[],
    private readonly options: { literalOperations?: boolean } = {},
  ) {
    this.compiled = routes
      .map((route) => ({ route, segments: route.path.split('/').slice(1) }))
      .sort((a, b) => specificity(a.segments, b.segments));
  }

  /** The route API Gateway would pick for this method and path; undefined means `$default`. */
  match(method: string, path: string): RouteMatch<R> | undefined {
    for (const c of this.compiled) {
      if (c.route.method !== method) continue;
      const params = bind(c.segments, path, this.options.literalOperations);
      if (params) return { route: c.route, params };
    }
    return undefined;
  }

  /** Every method some route serves on this path (for 405's Allow), in table order. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const c of this.compiled)
      if (bind(c.segments, path, this.options.literalOperations)) methods.add(c.route.method);
    return [...methods];
  }
}
