import jsonPatch, { type Operation } from 'fast-json-patch';
import type { Binary } from 'fhir/r4';
import { binaryFromFhir, toFhir } from './binary';
import { checkIfMatch, ifMatchVid } from './conditional';
import { requireId } from './ids';
import { parseJsonBody } from './json';
import { mediaType, requireJsonFormat } from './media';
import { badRequest, gone, notFound, notSupported, OperationOutcomeError, unprocessable } from './outcome';
import type { CoreDeps, VersionRecord } from './ports';
import { preferReturn } from './prefer';
import type { FhirRequest, FhirResponse } from './request';
import { header } from './request';
import { writeResponse } from './response';
import {
  commitVersion,
  directSizeCheck,
  discardStaged,
  type PreparedContent,
  stageBytes,
  stageCopy,
} from './write';

// fast-json-patch is CommonJS: under native ESM (`npm start`) Node exposes only what its lexer
// finds, and `applyPatch`/`validate` are not among them, so take them from the default export
// (test/unit/esm-imports.test.ts keeps every named import from a CommonJS package honest).
const { applyPatch, JsonPatchError, validate } = jsonPatch;
type JsonPatchError = InstanceType<typeof JsonPatchError>;

export const JSON_PATCH_TYPE = 'application/json-patch+json';

/** Parses and structurally validates an RFC 6902 document (C22: malformed → 400). */
export function parsePatch(req: FhirRequest): Operation[] {
  const ct = mediaType(header(req, 'content-type'));
  if (ct !== JSON_PATCH_TYPE)
    throw notSupported(
      415,
      `PATCH takes ${JSON_PATCH_TYPE} (RFC 6902); ${ct ?? 'a body without Content-Type'} is not supported.`,
    );
  const json = parseJsonBody(req.body, 'The JSON Patch');
  if (json === undefined) throw badRequest('The JSON Patch is not valid JSON.', 'structure');
  const ops = json.value;
  if (!Array.isArray(ops)) throw badRequest('A JSON Patch is a JSON array of operations.', 'structure');
  let err: JsonPatchError | undefined;
  try {
    err = validate(ops as Operation[]);
  } catch (e) {
    // validate() rethrows what is not a JsonPatchError (a TypeError on a hostile operation).
    throw badRequest(`The JSON Patch cannot be read: ${firstLine(e)}.`, 'structure');
  }
  if (err) throw badRequest(`JSON Patch operation ${err.index ?? 0}: ${describeError(err)}.`, 'structure');
  (ops as Operation[]).forEach((op, i) => {
    for (const p of [op.path, (op as { from?: unknown }).from])
      if (typeof p === 'string' && FORBIDDEN_SEGMENT.test(p))
        throw badRequest(
          `JSON Patch operation ${i}: a Binary has no element named __proto__, constructor or prototype.`,
          'structure',
        );
  });
  return ops as Operation[];
}

/** Path segments that name JavaScript object machinery, never a FHIR element (C22). */
const FORBIDDEN_SEGMENT = /(?:^|\/)(?:__proto__|constructor|prototype)(?:\/|$)/;

const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0];

function describeError(e: JsonPatchError): string {
  // fast-json-patch messages carry the whole document after a newline; keep the first line only.
  return `${e.name}: ${e.message.split('\n')[0]}`;
}

/** True when an operation reads or writes Binary.data (or the whole resource). */
function touchesData(ops: Operation[]): boolean {
  const hits = (p: string | undefined) =>
    p !== undefined && (p === '' || p === '/data' || p.startsWith('/data/'));
  return ops.some((op) => hits(op.path) || hits((op as { from?: string }).from));
}

/**
 * C22: PATCH [base]/Binary/{id} with a JSON Patch applied to the FHIR JSON form. The patch is
 * applied inside commitVersion's content callback, so a retry after a concurrent write re-applies
 * it to the new head. A patch that leaves /data alone never loads the bytes and keeps pointing at
 * the head's blob, so Binaries over 4 MiB can have their other elements patched.
 */
export async function patchBinary(req: FhirRequest, deps: CoreDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const id = requireId(req.params.id, 'id');
  requireJsonFormat(req);
  const ops = parsePatch(req);
  const ifMatch = ifMatchVid(req);
  const current = requireLive(id, await deps.repo.current(org, id));
  if (ops.length === 0) {
    // An empty patch changes nothing: no version, no notification; the current version answers.
    checkIfMatch(ifMatch, current);
    const unchanged = { ...current, created: false };
    return writeResponse(req, unchanged, await responseBytes(req, deps, unchanged, undefined), true);
  }
  const withData = touchesData(ops);

  let staged: Pick<PreparedContent, 'size' | 'blobKey' | 'sha256' | 'intentKey'> | undefined;
  let newBytes: Uint8Array | undefined;
  try {
    const record = await commitVersion(deps, {
      org,
      id,
      method: 'PATCH',
      ifMatch,
      content: async (head) => {
        const live = requireLive(id, head);
        const { content, bytes } = await applyTo(deps, live, ops, withData);
        if (!withData || sameBytes(bytes, content.bytes)) {
          newBytes = bytes;
          if (live.blobKey === undefined || content.resource.contentType === live.contentType)
            return {
              resource: content.resource,
              size: live.size,
              blobKey: live.blobKey,
              sha256: live.sha256,
            };
          // Same bytes, new Content-Type: the stored object carries the type, so copy it (C19).
          if (staged) await discardStaged(deps, staged);
          staged = await stageCopy(deps, live, content.resource.contentType);
          return { resource: content.resource, ...staged };
        }
        if (staged) await discardStaged(deps, staged); // staged for an earlier head that lost the race
        staged = await stageBytes(deps, org, id, content.bytes, content.resource.contentType);
        newBytes = content.bytes;
        return { resource: content.resource, ...staged };
      },
    });
    const r = record!;
    return writeResponse(req, r, await responseBytes(req, deps, r, newBytes), true);
  } catch (e) {
    if (staged) await discardStaged(deps, staged);
    throw e;
  }
}

function requireLive(id: string, head: VersionRecord | undefined): VersionRecord {
  if (!head) throw notFound(`Binary/${id} does not exist.`);
  if (head.deleted) throw gone(`Binary/${id} was deleted (version ${head.vid}); PUT it to bring it back.`);
  return head;
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.from(a).equals(b);

async function applyTo(deps: CoreDeps, head: VersionRecord, ops: Operation[], withData: boolean) {
  let bytes: Uint8Array | undefined;
  if (withData) {
    if (head.size > deps.config.maxInlineBytes)
      throw unprocessable(
        `Binary/${head.id} holds ${head.size} bytes, too many to patch /data: replace the content with PUT or $upload.`,
        'business-rule',
      );
    bytes = head.size > 0 && head.blobKey ? await deps.blobs.get(head.blobKey) : new Uint8Array(0);
  }
  const doc = toFhir(head, bytes);
  let result: unknown;
  try {
    result = applyPatch(doc, ops, true, false).newDocument;
  } catch (e) {
    if (e instanceof JsonPatchError) {
      const failedTest = e.name === 'TEST_OPERATION_FAILED';
      throw unprocessable(
        failedTest
          ? `JSON Patch test operation ${e.index ?? 0} failed: Binary/${head.id} is not as the patch expects.`
          : `JSON Patch operation ${e.index ?? 0} cannot be applied to Binary/${head.id}: ${describeError(e)}.`,
        failedTest ? 'business-rule' : 'processing',
      );
    }
    // Whatever else the library throws is about the patch, not the server (C22).
    throw unprocessable(`JSON Patch cannot be applied to Binary/${head.id}: ${firstLine(e)}.`, 'processing');
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result))
    throw unprocessable('The patched result is not a Binary resource.', 'business-rule');
  const patched = result as Binary & Record<string, unknown>;
  if (patched.resourceType !== 'Binary')
    throw unprocessable(
      'The patch may not change resourceType: the result must be a Binary.',
      'business-rule',
    );
  if (patched.id !== head.id)
    throw unprocessable(`The patch may not change or remove /id (Binary/${head.id}).`, 'business-rule');
  try {
    const content = binaryFromFhir(patched, directSizeCheck(deps), deps.config.maxResourceBytes);
    return { content, bytes };
  } catch (e) {
    if (e instanceof OperationOutcomeError && e.status === 400)
      throw unprocessable(`The patched Binary is invalid: ${e.message}`, 'business-rule');
    throw e;
  }
}

/** The bytes the C8 response shows: only read when the representation is wanted and fits. */
async function responseBytes(
  req: FhirRequest,
  deps: CoreDeps,
  r: VersionRecord,
  known: Uint8Array | undefined,
): Promise<Uint8Array | 'absent'> {
  const prefer = preferReturn(req);
  if (prefer === 'minimal' || prefer === 'OperationOutcome') return 'absent';
  if (r.size > deps.config.maxInlineBytes) return 'absent';
  if (known !== undefined) return known;
  return r.size > 0 && r.blobKey ? deps.blobs.get(r.blobKey) : new Uint8Array(0);
}
