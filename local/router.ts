import { type RouteDef, routes } from '../functions/routes';

export interface Match {
  route: RouteDef;
  params: Record<string, string>;
}

interface Compiled {
  route: RouteDef;
  regex: RegExp;
  names: string[];
  literals: number;
}

const compiled: Compiled[] = routes
  .map((route) => {
    const names: string[] = [];
    const segs = route.path.split('/').slice(1);
    const pattern = segs
      .map((s) => {
        const m = /^\{(\w+)\}$/.exec(s);
        if (!m) return escapeRegex(s);
        names.push(m[1]!);
        return '([^/]+)';
      })
      .join('/');
    return {
      route,
      regex: new RegExp(`^/${pattern}$`),
      names,
      literals: segs.filter((s) => !s.startsWith('{')).length,
    };
  })
  // API Gateway prefers the route with more literal segments (`/Binary/_history` over `/Binary/{id}`).
  .sort((a, b) => b.literals - a.literals);

/** Matches like API Gateway HTTP API: the most specific path, then the method. */
export function matchRoute(method: string, path: string): Match | { allowed: string[] } | undefined {
  const allowed = new Set<string>();
  let best: Compiled | undefined;
  for (const c of compiled) {
    const m = c.regex.exec(path);
    if (!m) continue;
    if (best && c.literals < best.literals) break;
    best ??= c;
    allowed.add(c.route.method);
    if (c.route.method === method) {
      const params: Record<string, string> = {};
      c.names.forEach((n, i) => {
        params[n] = m[i + 1]!;
      });
      return { route: c.route, params };
    }
  }
  return allowed.size > 0 ? { allowed: [...allowed] } : undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
