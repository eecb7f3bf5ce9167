import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { acceptedScopes, accessOf } from '../functions/core/auth';
import { operations } from '../functions/routes';
import { projectRoot } from '../local/paths';

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route table (functions/routes.ts)
 * so that it lists exactly what is deployed: `npm run openapi` writes docs/openapi.json, and
 * test/unit/openapi.test.ts fails when the committed file is not current. The contract itself is
 * docs/API.md; each operation names its rules.
 */

type Json = Record<string, unknown>;

/** One contract URL of an operation (functions/routes.ts), with what its token must hold. */
export interface ContractRoute {
  name: string;
  method: string;
  path: string;
  access: 'public' | 'read' | 'write';
  scopes: string[];
}

export const routes: ContractRoute[] = operations.flatMap((op) =>
  op.routes.flatMap(({ methods, path }) =>
    methods.map((method) => ({
      name: op.name,
      method,
      path,
      access: accessOf(op.permission),
      scopes: acceptedScopes(op.permission),
    })),
  ),
);

/** The kick-off's GET and POST forms are two operations of the table (two gateway routes). */
const EXPORT_KICKOFF = {
  summary: 'Start a bulk export of the organization’s Binaries (Prefer: respond-async)',
  rules: 'C35',
  ok: { '202': 'Accepted: Content-Location is the status URL' },
};

/** What the route table does not say: a summary, the contract rules, the success answers. */
const OPERATIONS: Record<string, { summary: string; rules: string; ok: Record<string, string> }> = {
  create: { summary: 'Create a Binary', rules: 'C10-C13', ok: { '201': 'Created: Location, ETag' } },
  read: {
    summary: 'Read a Binary: its bytes, or the resource as FHIR JSON (content negotiation)',
    rules: 'C14, C16-C19',
    ok: {
      '200': 'The bytes or the Binary',
      '206': 'A range of the bytes',
      '304': 'Not modified',
      '307': 'Large data: a presigned URL',
    },
  },
  vread: {
    summary: 'Read one version of a Binary',
    rules: 'C15-C19',
    ok: {
      '200': 'The bytes or the Binary',
      '206': 'A range of the bytes',
      '304': 'Not modified',
      '307': 'Large data: a presigned URL',
    },
  },
  update: {
    summary: 'Update a Binary (or create it with this id)',
    rules: 'C20, C21',
    ok: { '200': 'Updated', '201': 'Created' },
  },
  delete: { summary: 'Delete a Binary (history keeps its versions)', rules: 'C23', ok: { '204': 'Deleted' } },
  patch: { summary: 'Apply a JSON Patch to a Binary', rules: 'C22', ok: { '200': 'Patched' } },
  'history-instance': { summary: 'History of one Binary', rules: 'C24', ok: { '200': 'A history Bundle' } },
  'history-type': { summary: 'History of all Binaries', rules: 'C24', ok: { '200': 'A history Bundle' } },
  search: { summary: 'Search Binaries', rules: 'C25, C26', ok: { '200': 'A searchset Bundle' } },
  metadata: { summary: 'The CapabilityStatement', rules: 'C27', ok: { '200': 'CapabilityStatement' } },
  'operation-definition': {
    summary: 'An OperationDefinition the CapabilityStatement links to',
    rules: 'C27',
    ok: { '200': 'OperationDefinition' },
  },
  'search-parameter': {
    summary: 'A SearchParameter the CapabilityStatement links to',
    rules: 'C27',
    ok: { '200': 'SearchParameter' },
  },
  'smart-configuration': {
    summary: 'SMART on FHIR configuration',
    rules: 'C27',
    ok: { '200': 'The SMART configuration' },
  },
  'upload-start': {
    summary: 'Start a presigned multipart upload of a new Binary',
    rules: 'C28',
    ok: { '201': 'The upload: part URLs, complete and abort URLs' },
  },
  'upload-start-id': {
    summary: 'Start a presigned multipart upload of a new version of a Binary',
    rules: 'C28',
    ok: { '201': 'The upload: part URLs, complete and abort URLs' },
  },
  'upload-status': {
    summary: 'Parts uploaded so far, and fresh URLs for the others',
    rules: 'C29',
    ok: { '200': 'The upload status' },
  },
  'upload-complete': {
    summary: 'Complete an upload: verify and commit the version',
    rules: 'C30',
    ok: {
      '200': 'A new version',
      '201': 'A new Binary',
      '202': 'Still verifying: POST again after Retry-After',
    },
  },
  'upload-abort': { summary: 'Abort an upload', rules: 'C30', ok: { '204': 'Aborted' } },
  validate: {
    summary: 'Validate a Binary without storing it',
    rules: 'C27',
    ok: { '200': 'An OperationOutcome: the issues found, if any' },
  },
  'export-kickoff-get': EXPORT_KICKOFF,
  'export-kickoff-post': EXPORT_KICKOFF,
  'export-status': {
    summary: 'Status of a bulk export: progress, or the manifest when done',
    rules: 'C35',
    ok: { '200': 'The manifest', '202': 'Still running: X-Progress, Retry-After' },
  },
  'export-cancel': {
    summary: 'Cancel a bulk export and delete its files',
    rules: 'C35',
    ok: { '202': 'Cancelled' },
  },
  'export-download': {
    summary: 'Download one file of a bulk export (ndjson)',
    rules: 'C35',
    ok: { '200': 'The file as application/fhir+ndjson', '307': 'Large file: a presigned URL' },
  },
};

const fhirJson = (schema: Json = { $ref: '#/components/schemas/Resource' }) => ({
  'application/fhir+json': { schema },
});

function requestBody(route: ContractRoute): Json | undefined {
  if (route.name === 'create' || route.name === 'update')
    return {
      required: true,
      description: 'A FHIR Binary as JSON, or any bytes with their own Content-Type (C10, C11)',
      content: {
        ...fhirJson({ $ref: '#/components/schemas/Resource' }),
        '*/*': { schema: { type: 'string', format: 'binary' } },
      },
    };
  if (route.name === 'patch')
    return {
      required: true,
      content: { 'application/json-patch+json': { schema: { type: 'array', items: { type: 'object' } } } },
    };
  if (route.name === 'search' && route.method === 'POST')
    return {
      content: {
        'application/x-www-form-urlencoded': { schema: { type: 'object', additionalProperties: true } },
      },
    };
  if (route.name.startsWith('upload-start'))
    return {
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/UploadStartRequest' } } },
    };
  return undefined;
}

function operation(route: ContractRoute, operationId: string): Json {
  const op = OPERATIONS[route.name] ?? { summary: route.name, rules: '', ok: { '200': 'OK' } };
  const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const scopes = route.scopes;
  const body = route.method === 'HEAD' ? undefined : requestBody(route);
  return {
    operationId,
    summary: route.method === 'HEAD' ? `${op.summary} (headers only)` : op.summary,
    description: `docs/API.md ${op.rules}.${scopes.length ? ` Requires one of the scopes: ${scopes.join(', ')}.` : ' Public: no token.'}`,
    tags: [
      route.name.startsWith('upload') ? '$upload' : route.access === 'public' ? 'conformance' : 'Binary',
    ],
    ...(params.length ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    security: scopes.length ? [{ bearer: [] }] : [],
    'x-smart-scopes': scopes.length ? scopes : undefined,
    responses: {
      ...Object.fromEntries(
        Object.entries(op.ok).map(([code, description]) => [
          code,
          code === '204' || code === '304' || code === '307' || route.method === 'HEAD'
            ? { description }
            : {
                description,
                content: route.name.startsWith('upload')
                  ? { 'application/json': { schema: { type: 'object' } } }
                  : fhirJson(),
              },
        ]),
      ),
      default: {
        description: 'An OperationOutcome saying what to fix (C7)',
        content: fhirJson({ $ref: '#/components/schemas/OperationOutcome' }),
      },
    },
  };
}

export function openApiDocument(): Json {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
    version: string;
    description: string;
  };
  const paths: Record<string, Record<string, Json>> = {};
  const count = new Map<string, number>();
  for (const r of routes) count.set(r.name, (count.get(r.name) ?? 0) + 1);
  for (const r of routes) {
    const id = count.get(r.name) === 1 ? r.name : `${r.name}-${r.method.toLowerCase()}`;
    const op = JSON.parse(JSON.stringify(operation(r, id))) as Json; // drops undefined members
    paths[r.path] = { ...(paths[r.path] ?? {}), [r.method.toLowerCase()]: op };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'FHIR Binary service',
      version: pkg.version,
      summary: pkg.description,
      description:
        'Generated from functions/routes.ts by `npm run openapi`. The HTTP contract is docs/API.md; each operation names its rules (C1…).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [
      { url: 'http://127.0.0.1:{port}', description: 'npm start', variables: { port: { default: '8080' } } },
      {
        url: '{apiUrl}',
        description: 'A deployment: the stack output ApiUrl',
        variables: { apiUrl: { default: 'https://api.example.org' } },
      },
    ],
    tags: [
      { name: 'Binary', description: 'FHIR REST interactions on Binary' },
      { name: '$upload', description: 'Presigned multipart uploads straight to S3' },
      { name: '$export', description: 'Bulk export of an organization’s Binaries (FHIR Bulk Data)' },
      { name: 'conformance', description: 'What the server supports; no token needed' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT whose organizations claim names the organization and whose scope holds the SMART scopes of the operation (C2). Locally: npm run -s token -- --org ORG.',
        },
      },
      schemas: {
        Resource: {
          type: 'object',
          required: ['resourceType'],
          properties: { resourceType: { type: 'string' } },
          additionalProperties: true,
          description: 'A FHIR R4 resource as JSON (Binary, Bundle, CapabilityStatement, …)',
        },
        OperationOutcome: {
          type: 'object',
          required: ['resourceType', 'issue'],
          properties: {
            resourceType: { const: 'OperationOutcome' },
            issue: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  severity: { type: 'string' },
                  code: { type: 'string' },
                  diagnostics: { type: 'string' },
                },
              },
            },
          },
        },
        UploadStartRequest: {
          type: 'object',
          required: ['contentType', 'size'],
          additionalProperties: false,
          properties: {
            contentType: { type: 'string', description: 'The MIME type of the file' },
            size: { type: 'integer', minimum: 1, description: 'The exact size in bytes' },
            securityContext: { type: 'string', description: 'A reference, e.g. Patient/123' },
            sha256: { type: 'string', description: 'Base64 SHA-256 of the whole file (44 characters)' },
            partSize: { type: 'integer', minimum: 5242880, description: 'Bytes per part' },
          },
        },
      },
    },
  };
}

/** The file `npm run openapi` writes. */
export const OPENAPI_FILE = join(projectRoot(), 'docs', 'openapi.json');
export const renderOpenApi = (): string => `${JSON.stringify(openApiDocument(), null, 2)}\n`;
