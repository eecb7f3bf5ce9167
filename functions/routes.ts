import { type Access, acceptedScopes, accessOf, type Permission } from './core/auth';
import type { CapabilityEntry } from './core/capabilities';

/**
 * The one declaration of every HTTP operation (#10): its name, contract URLs (docs/API.md), the
 * SMART permission it needs, what its function may do (IAM), its CapabilityStatement entry, and
 * the module that serves it. Everything else is derived from this table:
 * - the API Gateway routes (`routes`): one per method and *gateway path* (below);
 * - one Lambda function per module (infra/api.ts), granted the union of its operations'
 *   capabilities and reached by the routes of its operations;
 * - the local gateway (local/router.ts) matches the same gateway routes;
 * - the function itself (functions/http/handler.ts) matches the request against the contract
 *   paths of its module's operations, authorizes with their permission, and audits their name;
 * - the `$default` function's 404/405/501 answers (functions/core/fallback.ts, C40);
 * - the CapabilityStatement (functions/core/capabilities.ts).
 *
 * Operation segments (`$upload`, `$export`): no AWS document says that an HTTP API route path may
 * contain `$`, so the stack never depends on it (#9 item 5). A gateway path has each `$…` segment
 * replaced by a path variable (`gatewayPath`), and the function matches the literal segment
 * itself: anything else gets what the `$default` route would answer (C40). So a client still calls
 * exactly `POST [base]/Binary/$upload` (or `%24upload`: API Gateway decodes the path before routing
 * and hands it on decoded, as the local gateway does). Operations whose gateway routes coincide
 * share a module, and so one function (`gatewayRoutes` refuses otherwise): the GET `$export`
 * kick-off is served with read (both GET `/Binary/{id}`), the `$upload` start, `$validate` and the
 * POST `$export` kick-off together (POST `/Binary/{id}`), and so on (`module` below).
 * Such a function holds the union of its operations' IAM grants and its route the union of their
 * scopes; each operation's own permission is checked in the function (core/auth.ts).
 */

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * What a function may do with the table and the bucket. infra/service-function.ts maps each to
 * IAM actions; KMS use of the service key follows from them.
 */
export type Capability =
  /** GetItem, Query, BatchGetItem, … on the table and its indexes. */
  | 'table:read'
  /** PutItem, UpdateItem, DeleteItem, TransactWriteItems, … on the table. */
  | 'table:write'
  /** s3:GetObject on every key (HeadObject and presigned GETs included, C19). */
  | 'bucket:read'
  /**
   * s3:PutObject on every key (keys are random per version; the bucket policy makes every object
   * write create-only, #14.8). No write function deletes objects: failed writes hand their bytes
   * to the reaper, the one role the bucket policy lets delete tenant objects.
   */
  | 'bucket:put'
  /**
   * Multipart uploads (C28–C30): CreateMultipartUpload, UploadPart (presigned) and
   * CompleteMultipartUpload are authorized by s3:PutObject; ListParts by
   * s3:ListMultipartUploadParts; AbortMultipartUpload by s3:AbortMultipartUpload.
   */
  | 'bucket:multipart';

export interface OperationDef {
  /** The operation's name: the audit line's `operation` (C38), the key handlers serve it by. */
  name: string;
  /** Contract URLs (C1 base included); `{param}` placeholders, `$…` operation segments literal. */
  routes: { methods: Method[]; path: string }[];
  /** What the token must grant (C2); scopes are derived in core/auth.ts. */
  permission: Permission;
  /** What the function serving it may do (IAM grants, infra/permissions.ts). */
  capabilities: Capability[];
  /** Its CapabilityStatement entry; none for the conformance resources themselves. */
  capability?: CapabilityEntry;
  /** Module (relative to functions/) exporting `handler`; one Lambda function per module. */
  module: string;
  /**
   * The function's memory (and so its CPU share) when the default 512 MB does not fit the work;
   * a module's function gets the largest of its operations'.
   */
  memoryMB?: number;
  /** Honours `Idempotency-Key`: a retry gets the first answer without a second write (C41). */
  idempotent?: boolean;
}

export const BASE = '/organizations/{organizationId}/fhir/4';

/**
 * Timeout of every API function: API Gateway's integration timeout is 30 s, so a function behind
 * it gets 29 s. The local server gives each request the same budget (getRemainingTimeInMillis).
 */
export const API_FUNCTION_TIMEOUT_SECONDS = 29;

/** Memory of the `$upload` completion: 1,769 MB is one full vCPU on Lambda. */
export const UPLOAD_COMPLETE_MEMORY_MB = 1769;

/** Capability sets (least privilege by kind of operation). */
const NONE: Capability[] = [];
const READ: Capability[] = ['table:read', 'bucket:read'];
// Writes stage bytes before the commit; when it fails they hand them to the reaper (core/write.ts).
const WRITE: Capability[] = ['table:read', 'table:write', 'bucket:read', 'bucket:put'];
const MULTIPART: Capability[] = [...WRITE, 'bucket:multipart'];

const at = (methods: Method[], path: string) => ({ methods, path: `${BASE}${path}` });
const GET: Method[] = ['GET', 'HEAD'];

export const operations: OperationDef[] = [
  {
    name: 'create',
    idempotent: true,
    routes: [at(['POST'], '/Binary')],
    permission: ['c'],
    capabilities: WRITE,
    capability: { interaction: 'create' },
    module: 'handlers/create',
  },
  {
    name: 'read',
    routes: [at(GET, '/Binary/{id}')],
    permission: ['r'],
    capabilities: READ,
    capability: { interaction: 'read' },
    module: 'handlers/read',
  },
  {
    name: 'vread',
    routes: [at(GET, '/Binary/{id}/_history/{vid}')],
    permission: ['r'],
    capabilities: READ,
    capability: { interaction: 'vread' },
    module: 'handlers/vread',
  },
  {
    name: 'update',
    idempotent: true,
    routes: [at(['PUT'], '/Binary/{id}')],
    permission: ['u'],
    capabilities: WRITE,
    capability: { interaction: 'update' },
    module: 'handlers/update',
  },
  {
    name: 'patch',
    idempotent: true,
    routes: [at(['PATCH'], '/Binary/{id}')],
    permission: ['u'],
    // A new contentType on unchanged bytes copies the object (C19), by parts when it is large.
    capabilities: MULTIPART,
    capability: { interaction: 'patch' },
    module: 'handlers/patch',
  },
  {
    name: 'delete',
    routes: [at(['DELETE'], '/Binary/{id}')],
    permission: ['d'],
    // A delete only writes a delete version; earlier bytes stay readable by vread (C23).
    capabilities: ['table:read', 'table:write'],
    capability: { interaction: 'delete' },
    module: 'handlers/delete',
  },
  {
    name: 'history-instance',
    routes: [at(GET, '/Binary/{id}/_history')],
    permission: ['r'],
    capabilities: READ,
    capability: { interaction: 'history-instance' },
    module: 'handlers/history-instance',
  },
  {
    name: 'history-type',
    routes: [at(GET, '/Binary/_history')],
    permission: ['s'],
    capabilities: READ,
    capability: { interaction: 'history-type' },
    module: 'handlers/history-type',
  },
  {
    name: 'search',
    routes: [at(GET, '/Binary'), at(['POST'], '/Binary/_search')],
    permission: ['s'],
    capabilities: READ,
    capability: { interaction: 'search-type' },
    module: 'handlers/search',
  },
  {
    name: 'metadata',
    routes: [at(GET, '/metadata')],
    permission: 'public',
    // The CapabilityStatement (C27) touches no data.
    capabilities: NONE,
    module: 'handlers/metadata',
  },
  // What the CapabilityStatement links to, public like it (C27).
  {
    name: 'operation-definition',
    routes: [at(GET, '/OperationDefinition/{id}')],
    permission: 'public',
    capabilities: NONE,
    module: 'handlers/operation-definition',
  },
  {
    name: 'search-parameter',
    routes: [at(GET, '/SearchParameter/{id}')],
    permission: 'public',
    capabilities: NONE,
    module: 'handlers/search-parameter',
  },
  {
    name: 'smart-configuration',
    routes: [at(GET, '/.well-known/smart-configuration')],
    permission: 'public',
    capabilities: NONE,
    module: 'handlers/smart-configuration',
  },
  // $upload (C28–C30). Status hands out PUT URLs, so it needs the permission of the write it
  // belongs to (a new Binary or a new version).
  {
    name: 'upload-start',
    idempotent: true,
    routes: [at(['POST'], '/Binary/$upload')],
    permission: ['c'],
    capabilities: MULTIPART,
    capability: { operation: 'upload' },
    module: 'handlers/operation-post',
  },
  // $validate stores nothing: the read permission suffices (#12, R4 resource-operation-validate).
  {
    name: 'validate',
    routes: [at(['POST'], '/Binary/$validate')],
    permission: ['r'],
    capabilities: READ,
    capability: { operation: 'validate' },
    module: 'handlers/operation-post',
  },
  {
    name: 'upload-start-id',
    idempotent: true,
    routes: [at(['POST'], '/Binary/{id}/$upload')],
    permission: ['u'],
    capabilities: MULTIPART,
    capability: { operation: 'upload' },
    module: 'handlers/operation-post',
  },
  {
    name: 'upload-status',
    routes: [at(GET, '/Binary/$upload/{uploadId}')],
    permission: ['c', 'u'],
    capabilities: MULTIPART,
    capability: { operation: 'upload' },
    module: 'handlers/operation-get',
  },
  {
    name: 'upload-complete',
    idempotent: true,
    routes: [at(['POST'], '/Binary/$upload/{uploadId}/complete')],
    permission: ['c', 'u'],
    capabilities: MULTIPART,
    capability: { operation: 'upload' },
    module: 'handlers/upload-complete',
    // One full vCPU (Lambda gives 1 vCPU at 1,769 MB): the sha256 check of up to 2 GiB runs at
    // CPU speed, and more of it fits in each request's time budget (C30).
    memoryMB: UPLOAD_COMPLETE_MEMORY_MB,
  },
  {
    name: 'upload-abort',
    routes: [at(['DELETE'], '/Binary/$upload/{uploadId}')],
    permission: ['c', 'u'],
    capabilities: MULTIPART,
    capability: { operation: 'upload' },
    module: 'handlers/operation-delete',
  },
  // Bulk export (C35): a read of the whole tenant, asynchronous. The job and the tenant's lock are
  // table items; the export files are granted on the `_exports/` prefix only, with the worker
  // (infra/exports.ts).
  // The kick-off's two forms sit behind different gateway routes (GET beside read, POST beside
  // the `$upload` start), so each is an operation of the module serving that route.
  {
    name: 'export-kickoff-get',
    routes: [at(['GET'], '/Binary/$export')],
    permission: ['r', 's'],
    capabilities: ['table:read', 'table:write'],
    capability: { operation: 'export' },
    module: 'handlers/read',
  },
  {
    name: 'export-kickoff-post',
    routes: [at(['POST'], '/Binary/$export')],
    permission: ['r', 's'],
    capabilities: ['table:read', 'table:write'],
    capability: { operation: 'export' },
    module: 'handlers/operation-post',
  },
  {
    name: 'export-status',
    routes: [at(GET, '/Binary/$export/{jobId}')],
    permission: ['r', 's'],
    capabilities: ['table:read'],
    capability: { operation: 'export' },
    module: 'handlers/operation-get',
  },
  {
    name: 'export-cancel',
    routes: [at(['DELETE'], '/Binary/$export/{jobId}')],
    permission: ['r', 's'],
    capabilities: ['table:read', 'table:write'],
    capability: { operation: 'export' },
    module: 'handlers/operation-delete',
  },
  {
    name: 'export-download',
    routes: [at(GET, '/Binary/{id}/$export-download')],
    permission: ['r', 's'],
    capabilities: ['table:read'],
    capability: { operation: 'export-download' },
    module: 'handlers/operation-get',
  },
];

/** One API Gateway route (HTTP API route key `method path`), derived from `operations`. */
export interface RouteDef {
  method: Method;
  /** The gateway path: the contract path with each `$…` segment replaced by a path variable. */
  path: string;
  /** The module whose function the route invokes. */
  module: string;
  /** The operations the function may find behind this route (it matches the contract path). */
  operations: string[];
  /** No authorizer: every operation behind the route is public. */
  public: boolean;
  /** Scopes the JWT authorizer accepts (any one of them): the union over the operations. */
  scopes: string[];
}

/** A `$name` segment of a contract path. */
const isOperationSegment = (s: string) => s.startsWith('$');
const isVariable = (s: string) => /^\{\w+\}$/.test(s);

/**
 * The gateway path of a contract path (#9 item 5): each `$…` segment becomes a path variable, and
 * every variable takes the name of the first variable met at the same place (after the same
 * parent path) in `names`, so sibling routes never name one path segment differently
 * (`GET /Binary/{id}` and `POST /Binary/{id}`, not `POST /Binary/{op}`): REST APIs refuse
 * differently named siblings, and no AWS document says HTTP APIs accept them. Names matter for
 * nothing else: the function re-matches the contract path (functions/http/handler.ts).
 */
export function gatewayPath(path: string, names = new Map<string, string>()): string {
  const out: string[] = [];
  let parent = '';
  for (const s of path.split('/').slice(1)) {
    if (!isOperationSegment(s) && !isVariable(s)) {
      out.push(s);
      parent += `/${s}`;
      continue;
    }
    const name = names.get(parent) ?? (isOperationSegment(s) ? 'op' : s.slice(1, -1));
    names.set(parent, name);
    if (out.includes(`{${name}}`))
      throw new Error(`The gateway path of ${path} would name two segments {${name}}: rename a variable.`);
    out.push(`{${name}}`);
    parent += '/{}';
  }
  return `/${out.join('/')}`;
}

/** A path's shape for conflict detection: every variable is the same (`GET /a/{x}` = `GET /a/{y}`). */
const shape = (path: string) => path.replace(/\{[^}]+\}/g, '{}');

/** The gateway routes of a table of operations; throws when two modules would share a route. */
export function gatewayRoutes(ops: OperationDef[]): RouteDef[] {
  const byKey = new Map<string, RouteDef & { permissions: Permission[] }>();
  const names = new Map<string, string>();
  for (const op of ops) {
    for (const { methods, path } of op.routes) {
      for (const method of methods) {
        const gw = gatewayPath(path, names);
        const key = `${method} ${shape(gw)}`;
        const existing = byKey.get(key);
        if (!existing) {
          byKey.set(key, {
            method,
            path: gw,
            module: op.module,
            operations: [op.name],
            public: op.permission === 'public',
            scopes: acceptedScopes(op.permission),
            permissions: [op.permission],
          });
          continue;
        }
        if (existing.module !== op.module)
          throw new Error(
            `Operations ${existing.operations.join(', ')} and ${op.name} share the API Gateway route ` +
              `${method} ${existing.path}: serve them from one module.`,
          );
        if (existing.public !== (op.permission === 'public'))
          throw new Error(`Route ${method} ${existing.path} mixes public and protected operations.`);
        if (!existing.operations.includes(op.name)) existing.operations.push(op.name);
        existing.scopes = [...new Set([...existing.scopes, ...acceptedScopes(op.permission)])];
      }
    }
  }
  return [...byKey.values()].map(({ permissions: _, ...r }) => r);
}

/** The API Gateway routes of the deployed table. */
export const routes: RouteDef[] = gatewayRoutes(operations);

/** Every contract URL pattern (`$…` segments literal) with its method and operation. */
export const contractRoutes = (ops: OperationDef[] = operations) =>
  ops.flatMap((op) =>
    op.routes.flatMap(({ methods, path }) => methods.map((method) => ({ method, path, name: op.name }))),
  );

/**
 * API Gateway's `$default` route (C40): every request no gateway route matches reaches this
 * function, which answers 404, 405 (with Allow) or 501 as an OperationOutcome. No authorizer.
 * A function whose gateway route let through a path none of its operations declares answers the
 * same way (functions/http/handler.ts).
 */
export const defaultRoute = {
  name: 'fallback',
  module: 'handlers/fallback',
  public: true,
  scopes: [] as readonly string[],
} as const;

/** The operation called `name`; throws for a name the table does not declare. */
export function operationNamed(name: string, ops: OperationDef[] = operations): OperationDef {
  const op = ops.find((o) => o.name === name);
  if (!op) throw new Error(`No operation "${name}" in functions/routes.ts`);
  return op;
}

/** The v1 access level of an operation (read/write/public), for messages and docs. */
export const accessOfOperation = (op: OperationDef): Access => accessOf(op.permission);
