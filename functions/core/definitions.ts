import type { OperationDefinition, OperationDefinitionParameter, SearchParameter } from 'fhir/r4';
import { requireJsonFormat } from './media';
import { notFound } from './outcome';
import type { FhirRequest, FhirResponse } from './request';
import { fhirJson } from './response';
import { SEARCH_PARAMS } from './search-params';

/**
 * The conformance resources the CapabilityStatement links to (C27): one OperationDefinition per
 * `$operation` the route table serves, and a SearchParameter for each search parameter that R4
 * does not define itself. Each is served at the URL that is also its canonical
 * (`[base]/OperationDefinition/Binary-{code}`), so every link of the statement resolves.
 */

/** What an operation's definition says; the id, url and boilerplate are added by `operationDefinition`. */
export interface OperationSpec {
  title: string;
  description: string;
  /** Type level (`[base]/Binary/$op`) and/or instance level (`[base]/Binary/{id}/$op`). */
  type: boolean;
  instance: boolean;
  affectsState: boolean;
  /** A standard definition this one specializes (e.g. the Bulk Data IG's export). */
  base?: string;
  parameter: OperationDefinitionParameter[];
}

const param = (
  use: 'in' | 'out',
  name: string,
  type: string,
  min: number,
  documentation: string,
  max = '1',
): OperationDefinitionParameter => ({ name, use, min, max, type, documentation });

/**
 * Every `$operation` of the route table, by code. Adding an operation to functions/routes.ts needs
 * an entry here (test/integration/conformance.test.ts fails otherwise); nothing else.
 */
export const OPERATIONS: Record<string, OperationSpec> = {
  validate: {
    title: 'Binary $validate',
    description:
      'Checks a Binary (application/fhir+json, or a Parameters resource with a "resource" part) as a ' +
      'create would, and stores nothing. Answers 200 with an OperationOutcome: information when the ' +
      'Binary would be accepted, else the error the create would have given.',
    type: true,
    instance: false,
    affectsState: false,
    base: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
    parameter: [
      param('in', 'resource', 'Resource', 1, 'The Binary to validate.'),
      param('out', 'return', 'OperationOutcome', 1, 'The outcome of the validation.'),
    ],
  },
  upload: {
    title: 'Binary $upload: presigned multipart upload',
    description:
      'Starts a direct upload of a large Binary to object storage (docs/API.md C28–C30). The request ' +
      'and answer are plain JSON objects with the members below, not Parameters resources. ' +
      'POST [base]/Binary/$upload creates a Binary; POST [base]/Binary/{id}/$upload writes a new ' +
      'version of {id}. Status: GET [base]/Binary/$upload/{uploadId}; completion: POST ' +
      '[base]/Binary/$upload/{uploadId}/complete; abort: DELETE [base]/Binary/$upload/{uploadId}.',
    type: true,
    instance: true,
    affectsState: true,
    parameter: [
      param('in', 'contentType', 'code', 1, 'MIME type of the content.'),
      param('in', 'size', 'integer', 1, 'Exact size of the content in bytes.'),
      param('in', 'securityContext', 'string', 0, 'Reference for Binary.securityContext, e.g. Patient/123.'),
      param('in', 'sha256', 'string', 0, 'Base64 SHA-256 of the whole content, checked on completion.'),
      param(
        'in',
        'partSize',
        'integer',
        0,
        'Bytes per part (at least 5 MiB); chosen by the server if absent.',
      ),
      param('out', 'uploadId', 'string', 1, 'The upload session.'),
      param('out', 'id', 'id', 1, 'Id of the Binary the upload writes.'),
      param('out', 'parts', 'string', 1, 'Part numbers with presigned PUT URLs.', '*'),
      param('out', 'status', 'uri', 1, 'Status URL of the upload (resume).'),
      param('out', 'complete', 'uri', 1, 'URL to POST to when every part is uploaded.'),
      param('out', 'abort', 'uri', 1, 'URL to DELETE to abandon the upload.'),
    ],
  },
  export: {
    title: "Binary $export: bulk export of the tenant's Binaries",
    description:
      'Asynchronous bulk export after the FHIR Bulk Data Access IG v2 (docs/API.md C35): GET or POST ' +
      '[base]/Binary/$export with Prefer: respond-async answers 202 with Content-Location of a status ' +
      'URL [base]/Binary/$export/{jobId} (202 with X-Progress while running, then 200 with the ' +
      'manifest; DELETE cancels). Files are ndjson of current Binaries, fetched with $export-download.',
    type: true,
    instance: false,
    affectsState: false,
    base: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export',
    parameter: [
      param(
        'in',
        '_outputFormat',
        'string',
        0,
        'application/fhir+ndjson (default), application/ndjson or ndjson.',
      ),
      param('in', '_since', 'instant', 0, 'Only Binaries last updated at or after this instant.'),
      param('in', '_type', 'string', 0, 'Binary (the only type exported).'),
    ],
  },
  'export-download': {
    title: 'Binary $export-download: one file of a finished export',
    description:
      'GET [base]/Binary/{fileId}/$export-download answers one output file of a finished bulk export ' +
      'of the same tenant as application/fhir+ndjson (a 307 to a presigned URL over 4 MiB), the same ' +
      'bytes every time, until the export expires (docs/API.md C35).',
    type: false,
    instance: true,
    affectsState: false,
    parameter: [
      param('out', 'return', 'Binary', 1, 'The ndjson file (the HTTP body; not a Parameters resource).'),
    ],
  },
};

export const operationDefinitionId = (code: string) => `Binary-${code}`;
export const operationDefinitionUrl = (base: string, code: string) =>
  `${base}/OperationDefinition/${operationDefinitionId(code)}`;

export function operationDefinition(base: string, code: string): OperationDefinition | undefined {
  const spec = OPERATIONS[code];
  if (!spec) return undefined;
  const { title, description, type, instance, affectsState, base: parent, parameter } = spec;
  return {
    resourceType: 'OperationDefinition',
    id: operationDefinitionId(code),
    url: operationDefinitionUrl(base, code),
    name: `Binary${code.replace(/(^|-)(\w)/g, (_, _d, c: string) => c.toUpperCase())}`,
    title,
    status: 'active',
    kind: 'operation',
    description,
    affectsState,
    code,
    ...(parent ? { base: parent } : {}),
    resource: ['Binary'],
    system: false,
    type,
    instance,
    parameter,
  };
}

/** SearchParameter id of a parameter served here (one whose `definition` is not an R4 URL). */
export const searchParameterUrl = (base: string, definition: string) =>
  /^https?:/.test(definition) ? definition : `${base}/${definition}`;

export function searchParameter(base: string, id: string): SearchParameter | undefined {
  const p = SEARCH_PARAMS.find((x) => x.definition === `SearchParameter/${id}`);
  if (!p) return undefined;
  return {
    resourceType: 'SearchParameter',
    id,
    url: searchParameterUrl(base, p.definition),
    name: p.name.replace(/^_/, ''),
    status: 'active',
    description: p.documentation,
    code: p.name,
    base: ['Binary'],
    type: p.type,
    expression: p.expression,
  };
}

/** GET [base]/OperationDefinition/{id}: public, like metadata (C27). */
export async function readOperationDefinition(req: FhirRequest): Promise<FhirResponse> {
  requireJsonFormat(req);
  const id = req.params.id ?? '';
  const code = Object.keys(OPERATIONS).find((c) => operationDefinitionId(c) === id);
  if (code === undefined)
    throw notFound(
      `OperationDefinition/${id} is not defined here; the CapabilityStatement (GET [base]/metadata) links every one.`,
    );
  return fhirJson(200, operationDefinition(req.baseUrl, code));
}

/** GET [base]/SearchParameter/{id}: public, like metadata (C27). */
export async function readSearchParameter(req: FhirRequest): Promise<FhirResponse> {
  requireJsonFormat(req);
  const id = req.params.id ?? '';
  const resource = searchParameter(req.baseUrl, id);
  if (!resource)
    throw notFound(
      `SearchParameter/${id} is not defined here; the CapabilityStatement (GET [base]/metadata) links every one.`,
    );
  return fhirJson(200, resource);
}
