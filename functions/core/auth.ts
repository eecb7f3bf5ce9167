import { forbidden, unauthorized } from './outcome';
import type { Principal } from './request';

/**
 * What an operation needs of the token (C2), declared once per operation in functions/routes.ts:
 * `'public'` (no token), or any one of these SMART v2 permissions on Binary — `c` create,
 * `r` read/vread/instance history, `u` update/patch, `d` delete, `s` search/type history.
 */
export type SmartPermission = 'c' | 'r' | 'u' | 'd' | 's';
export type Permission = 'public' | readonly SmartPermission[];
/** The SMART v1 level a permission falls under: `read` covers r and s, `write` c, u and d. */
export type Access = 'public' | 'read' | 'write';

/** SMART contexts the service serves; `patient/` is not accepted (Binary is in no compartment). */
const CONTEXTS = ['system', 'user'] as const;
/** A scope naming Binary or every resource type. */
const RESOURCES = ['Binary', '*'] as const;
/** SMART v2 permissions, in the order a v2 scope must list them. */
const V2_ORDER: readonly SmartPermission[] = ['c', 'r', 'u', 'd', 's'];

export function accessOf(permission: Permission): Access {
  if (permission === 'public') return 'public';
  return permission.every((p) => p === 'r' || p === 's') ? 'read' : 'write';
}

/** The SMART v1 levels that grant a permission. */
const v1For = (p: SmartPermission): string[] => (p === 'r' || p === 's' ? ['read', '*'] : ['write', '*']);

/** Every SMART v2 permission string (`r`, `rs`, `cruds`, …: a non-empty subset in c-r-u-d-s order). */
const V2_STRINGS: string[] = Array.from({ length: 31 }, (_, mask) =>
  V2_ORDER.filter((_, i) => (mask + 1) & (1 << i)).join(''),
);

/** Parses `context/resource.permissions`; undefined for anything else (granular `?…` scopes too). */
function parseScope(scope: string): { context: string; resource: string; perms: string } | undefined {
  const m = /^([a-z]+)\/([A-Za-z*]+)\.([a-z*]+)$/.exec(scope);
  return m ? { context: m[1]!, resource: m[2]!, perms: m[3]! } : undefined;
}

/** True when one scope string grants one permission on Binary. */
function grants(scope: string, permission: SmartPermission): boolean {
  const s = parseScope(scope);
  if (!s || !(CONTEXTS as readonly string[]).includes(s.context)) return false;
  if (!(RESOURCES as readonly string[]).includes(s.resource)) return false;
  if (v1For(permission).includes(s.perms)) return true;
  return V2_STRINGS.includes(s.perms) && s.perms.includes(permission);
}

/**
 * Every scope string that grants the permission, v1 and v2 forms (`system/Binary.read`,
 * `system/*.write`, `user/Binary.rs`, `system/Binary.cruds`, …). API Gateway's JWT authorizer
 * compares scopes as exact strings, so the stack lists all of them on each route; `authorize`
 * accepts exactly the same set (test/unit/auth.test.ts checks both agree).
 */
export function acceptedScopes(permission: Permission): string[] {
  if (permission === 'public') return [];
  const perms = new Set(permission.flatMap((p) => [...v1For(p), ...V2_STRINGS.filter((v) => v.includes(p))]));
  return CONTEXTS.flatMap((c) => RESOURCES.flatMap((r) => [...perms].map((p) => `${c}/${r}.${p}`)));
}

/**
 * C2: the caller must act for this tenant and hold a SMART scope (v1 or v2) that grants the
 * permission the operation declares. The API Gateway authorizer has already checked the signature.
 */
export function authorize(principal: Principal | undefined, org: string, permission: Permission): void {
  if (permission === 'public') return;
  if (principal === undefined)
    throw unauthorized('A Bearer token is required: send Authorization: Bearer <JWT>.');
  const orgs = principal.organizations;
  if (orgs !== '*' && !orgs.includes(org)) {
    throw forbidden(
      `The token is not valid for organization ${org}: its organizations claim does not include it.`,
    );
  }
  if (!principal.scopes.some((s) => permission.some((p) => grants(s, p)))) {
    const level = accessOf(permission);
    throw forbidden(
      `The token lacks a scope for this ${level}: it needs system/Binary.${level} (SMART v1), or a SMART v2 ` +
        `scope with ${permission.map((p) => `'${p}'`).join(' or ')} such as system/Binary.${permission[0]}` +
        ` (user/ and Binary or * alike).`,
    );
  }
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
