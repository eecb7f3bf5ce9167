import { createHash } from 'node:crypto';
import type { CapabilityStatement, CapabilityStatementRestResourceOperation } from 'fhir/r4';
import { operationDefinitionUrl, searchParameterUrl } from './definitions';
import { FHIR_JSON_CONTENT_TYPE, FHIR_VERSION_PARAM, requireJsonFormat } from './media';
import { type FhirRequest, type FhirResponse, header } from './request';
import { fhirJson } from './response';
import { SEARCH_PARAMS } from './search-params';

/** What the CapabilityStatement needs of a route (functions/routes.ts RouteDef). */
export interface RouteShape {
  method: string;
  path: string;
}

type Interaction =
  | 'read'
  | 'vread'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'create'
  | 'search-type';

/** The FHIR interaction a route implements, from its method and path below `[base]`. */
export function interactionOf(route: RouteShape): Interaction | undefined {
  const rel = route.path.replace(/^.*\/fhir\/4/, '');
  const key = `${route.method} ${rel.replace(/\{[^}]+\}/g, '{}')}`;
  const table: Record<string, Interaction> = {
    'GET /Binary/{}': 'read',
    'GET /Binary/{}/_history/{}': 'vread',
    'PUT /Binary/{}': 'update',
    'PATCH /Binary/{}': 'patch',
    'DELETE /Binary/{}': 'delete',
    'GET /Binary/{}/_history': 'history-instance',
    'GET /Binary/_history': 'history-type',
    'POST /Binary': 'create',
    'GET /Binary': 'search-type',
    'POST /Binary/_search': 'search-type',
  };
  return table[key];
}

/** The operation (`$name`) a route serves, if any: the first `$` segment of its path. */
export function operationOf(route: RouteShape): string | undefined {
  return route.path
    .split('/')
    .find((s) => s.startsWith('$'))
    ?.slice(1);
}

const ORDER: Interaction[] = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
];

/**
 * C27: the CapabilityStatement, derived from the route table so it always states exactly what
 * is deployed: a route added to functions/routes.ts shows up here without further edits.
 */
/** C13: the direct-write limits the CapabilityStatement states (functions/limits.ts computes them). */
export interface DirectLimits {
  bodyBytes: number;
  fhirDataBytes: number;
}

export function capabilityStatement(
  routes: RouteShape[],
  baseUrl: string,
  limits?: DirectLimits,
): CapabilityStatement {
  const interactions = new Set(routes.map(interactionOf).filter((i): i is Interaction => i !== undefined));
  const operations = [...new Set(routes.map(operationOf).filter((o): o is string => o !== undefined))].sort();
  const operation: CapabilityStatementRestResourceOperation[] = operations.map((name) => ({
    name,
    definition: operationDefinitionUrl(baseUrl, name),
  }));
  const searchable = interactions.has('search-type');
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-01-01',
    kind: 'instance',
    software: { name: 'fhir-binary-aws', version: '0.1.0' },
    implementation: { description: 'Serverless FHIR R4 Binary service for AWS', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    patchFormat: interactions.has('patch') ? ['application/json-patch+json'] : [],
    rest: [
      {
        mode: 'server',
        security: {
          cors: true,
          service: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                  code: 'SMART-on-FHIR',
                },
              ],
            },
          ],
          description:
            'Bearer JWT with the organizations claim naming the tenant and SMART system scopes: ' +
            'system/Binary.read (or .rs) for reads, system/Binary.write (or .cud) for writes, system/Binary.* for both.',
        },
        resource: [
          {
            type: 'Binary',
            ...(limits
              ? {
                  documentation:
                    `Direct writes (create, update, patch): a request body of at most ${limits.bodyBytes} bytes, ` +
                    `so at most ${limits.bodyBytes} bytes of raw data, or about ${limits.fhirDataBytes} bytes of ` +
                    'data as FHIR JSON (base64); over it, 413. Larger files: the $upload operation.',
                }
              : {}),
            interaction: ORDER.filter((i) => interactions.has(i)).map((code) => ({ code })),
            versioning: 'versioned',
            readHistory: interactions.has('vread'),
            updateCreate: interactions.has('update'),
            // If-None-Exist on create (C10).
            conditionalCreate: interactions.has('create'),
            conditionalRead: interactions.has('read') ? 'full-support' : 'not-supported',
            conditionalUpdate: false,
            conditionalDelete: 'not-supported',
            ...(searchable
              ? {
                  searchParam: SEARCH_PARAMS.map(({ name, type, definition, documentation }) => ({
                    name,
                    type,
                    definition: searchParameterUrl(baseUrl, definition),
                    documentation,
                  })),
                }
              : {}),
            ...(operation.length > 0 ? { operation } : {}),
          },
        ],
      },
    ],
  };
}

/** The metadata Content-Type names the FHIR version (http.html#version-parameter). */
export const METADATA_CONTENT_TYPE = `${FHIR_JSON_CONTENT_TYPE}; fhirVersion=${FHIR_VERSION_PARAM}`;

/**
 * GET [base]/metadata: public (C2), so clients can discover the service before they log in. The
 * ETag is a digest of the statement, so a client revalidates with If-None-Match (304).
 */
export function metadata(routes: RouteShape[], limits?: DirectLimits) {
  return async (req: FhirRequest): Promise<FhirResponse> => {
    requireJsonFormat(req);
    const cs = capabilityStatement(routes, req.baseUrl, limits);
    const digest = createHash('sha256').update(JSON.stringify(cs)).digest('base64url').slice(0, 22);
    const headers = { ETag: `W/"${digest}"`, 'Content-Type': METADATA_CONTENT_TYPE };
    const inm = header(req, 'if-none-match');
    if (inm?.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === `"${digest}"`))
      return { status: 304, headers };
    return fhirJson(200, cs, headers);
  };
}
