import { forbidden, unauthorized } from './outcome';
import type { Principal } from './request';

export type Access = 'read' | 'write' | 'public';

const READ_SCOPES = ['Binary.read', 'Binary.rs', 'Binary.*'];
const WRITE_SCOPES = ['Binary.write', 'Binary.cud', 'Binary.*'];

/**
 * C2: the caller must act for this tenant and hold a SMART scope for the access the operation
 * needs. The API Gateway authorizer has already checked the signature; this is defence in depth.
 */
export function authorize(principal: Principal | undefined, org: string, access: Access): void {
  if (access === 'public') return;
  if (principal === undefined)
    throw unauthorized('A Bearer token is required: send Authorization: Bearer <JWT>.');
  const orgs = principal.organizations;
  if (orgs !== '*' && !orgs.includes(org)) {
    throw forbidden(
      `The token is not valid for organization ${org}: its organizations claim does not include it.`,
    );
  }
  const wanted = access === 'read' ? READ_SCOPES : WRITE_SCOPES;
  const ok = principal.scopes.some((s) => {
    const [context, rest] = splitScope(s);
    return (context === 'system' || context === 'user') && wanted.includes(rest);
  });
  if (!ok) {
    throw forbidden(
      `The token lacks a scope for this ${access}: it needs one of ${wanted.map((w) => `system/${w}`).join(', ')}.`,
    );
  }
}

function splitScope(scope: string): [string, string] {
  const i = scope.indexOf('/');
  return i < 0 ? ['', scope] : [scope.slice(0, i), scope.slice(i + 1)];
}

/**
 * Claims come from jose (arrays) or from API Gateway's JWT authorizer, which flattens an array
 * claim into a string like "[org-a org-b]". Both shapes are accepted.
 */
export function principalFromClaims(claims: Record<string, unknown>): Principal {
  const list = (v: unknown): string[] => {
    if (Array.isArray(v)) return v.map(String);
    if (typeof v !== 'string') return [];
    const s = v.trim();
    const inner = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
    return inner.split(/[\s,]+/).filter((x) => x !== '');
  };
  const orgClaim = claims.organizations;
  const orgs = orgClaim === '*' ? '*' : list(orgClaim);
  return {
    sub: typeof claims.sub === 'string' ? claims.sub : 'unknown',
    organizations: Array.isArray(orgs) && orgs.length === 1 && orgs[0] === '*' ? '*' : orgs,
    scopes: [...list(claims.scope), ...list(claims.scp)],
  };
}
