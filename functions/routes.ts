/**
 * The one route table. The CDK stack builds one function and one HTTP API route per entry; the
 * local server matches requests against the same entries and calls the same handlers.
 */
export interface RouteDef {
  /** Operation name: the function's name, the audit line's `operation`. */
  name: string;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API Gateway route path with `{param}` placeholders. */
  path: string;
  /** Module (relative to functions/) exporting `handler`. */
  module: string;
  /** Scopes API Gateway requires; empty = no authorizer (public). */
  access: 'read' | 'write' | 'public';
  /** The function's memory (and so its CPU share) when the default 512 MB does not fit the work. */
  memoryMB?: number;
  /** Honours `Idempotency-Key`: a retry gets the first answer without a second write (C41). */
  idempotent?: boolean;
}

const BASE = '/organizations/{organizationId}/fhir/4';

/**
 * Timeout of every API function: API Gateway's integration timeout is 30 s, so a function behind
 * it gets 29 s. The local server gives each request the same budget (getRemainingTimeInMillis).
 */
export const API_FUNCTION_TIMEOUT_SECONDS = 29;

/** Memory of the `$upload` completion: 1,769 MB is one full vCPU on Lambda. */
export const UPLOAD_COMPLETE_MEMORY_MB = 1769;

const r = (
  name: string,
  methods: RouteDef['method'][],
  path: string,
  module: string,
  access: RouteDef['access'],
  extra: Pick<RouteDef, 'memoryMB' | 'idempotent'> = {},
): RouteDef[] =>
  methods.map((method) => ({ name, method, path: `${BASE}${path}`, module, access, ...extra }));

export const routes: RouteDef[] = [
  ...r('create', ['POST'], '/Binary', 'handlers/create', 'write', { idempotent: true }),
  ...r('read', ['GET', 'HEAD'], '/Binary/{id}', 'handlers/read', 'read'),
  ...r('vread', ['GET', 'HEAD'], '/Binary/{id}/_history/{vid}', 'handlers/vread', 'read'),
  ...r('update', ['PUT'], '/Binary/{id}', 'handlers/update', 'write', { idempotent: true }),
  ...r('delete', ['DELETE'], '/Binary/{id}', 'handlers/delete', 'write'),
  ...r('patch', ['PATCH'], '/Binary/{id}', 'handlers/patch', 'write', { idempotent: true }),
  ...r('history-instance', ['GET', 'HEAD'], '/Binary/{id}/_history', 'handlers/history-instance', 'read'),
  ...r('history-type', ['GET', 'HEAD'], '/Binary/_history', 'handlers/history-type', 'read'),
  ...r('search', ['GET', 'HEAD'], '/Binary', 'handlers/search', 'read'),
  ...r('search', ['POST'], '/Binary/_search', 'handlers/search', 'read'),
  ...r('metadata', ['GET', 'HEAD'], '/metadata', 'handlers/metadata', 'public'),
  // What the CapabilityStatement links to, public like it (C27).
  ...r(
    'operation-definition',
    ['GET', 'HEAD'],
    '/OperationDefinition/{id}',
    'handlers/operation-definition',
    'public',
  ),
  ...r('search-parameter', ['GET', 'HEAD'], '/SearchParameter/{id}', 'handlers/search-parameter', 'public'),
  ...r(
    'smart-configuration',
    ['GET', 'HEAD'],
    '/.well-known/smart-configuration',
    'handlers/smart-configuration',
    'public',
  ),
  // $upload (C28–C30; status hands out PUT URLs, so it needs write scope): literal `$upload` segments outrank `{id}` in both API Gateway and local/router.ts.
  ...r('upload-start', ['POST'], '/Binary/$upload', 'handlers/upload-start', 'write', { idempotent: true }),
  // $validate stores nothing: the read permission suffices (#12, R4 resource-operation-validate).
  ...r('validate', ['POST'], '/Binary/$validate', 'handlers/validate', 'read'),
  ...r('upload-start-id', ['POST'], '/Binary/{id}/$upload', 'handlers/upload-start', 'write', {
    idempotent: true,
  }),
  ...r('upload-status', ['GET'], '/Binary/$upload/{uploadId}', 'handlers/upload-status', 'write'),
  ...r(
    'upload-complete',
    ['POST'],
    '/Binary/$upload/{uploadId}/complete',
    'handlers/upload-complete',
    'write',
    // One full vCPU (Lambda gives 1 vCPU at 1,769 MB): the sha256 check of up to 2 GiB runs at
    // CPU speed, and more of it fits in each request's time budget (C30).
    { memoryMB: UPLOAD_COMPLETE_MEMORY_MB, idempotent: true },
  ),
  ...r('upload-abort', ['DELETE'], '/Binary/$upload/{uploadId}', 'handlers/upload-abort', 'write'),
  // Bulk export (C35): a read of the whole tenant, asynchronous.
  ...r('export-kickoff', ['GET', 'POST'], '/Binary/$export', 'handlers/export-kickoff', 'read'),
  ...r('export-status', ['GET'], '/Binary/$export/{jobId}', 'handlers/export-status', 'read'),
  ...r('export-cancel', ['DELETE'], '/Binary/$export/{jobId}', 'handlers/export-cancel', 'read'),
  ...r('export-download', ['GET'], '/Binary/{id}/$export-download', 'handlers/export-download', 'read'),
];

/**
 * API Gateway's `$default` route (C40): every request no entry above matches reaches this
 * function, which answers 404, 405 (with Allow) or 501 as an OperationOutcome. No authorizer.
 */
export const defaultRoute = { name: 'fallback', module: 'handlers/fallback', access: 'public' } as const;

/** SMART scopes that satisfy each access level (C2); the authorizer checks one of them. */
export const scopesFor = (access: RouteDef['access']): string[] =>
  access === 'read'
    ? [
        'system/Binary.read',
        'system/Binary.rs',
        'system/Binary.*',
        'user/Binary.read',
        'user/Binary.rs',
        'user/Binary.*',
      ]
    : access === 'write'
      ? [
          'system/Binary.write',
          'system/Binary.cud',
          'system/Binary.*',
          'user/Binary.write',
          'user/Binary.cud',
          'user/Binary.*',
        ]
      : [];
