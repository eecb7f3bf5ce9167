import { createHash, randomUUID } from 'node:crypto';
import { binaryFromRaw } from './binary';
import { checkIfMatch, ifMatchVid } from './conditional';
import type { FhirRequest, FhirResponse } from './http';
import { header } from './http';
import { isValidId, requireId } from './ids';
import { mediaType } from './media';
import { writeResponse } from './operations';
import { badRequest, notFound, notSupported, tooLong, unprocessable } from './outcome';
import type { CoreDeps, VersionRecord } from './ports';
import { reapIntent } from './reaper';
import type {
  MultipartStore,
  StoredPart,
  UploadConfig,
  UploadSession,
  UploadSessionStore,
} from './upload-ports';
import { commitVersion, newBlobKey } from './write';

const MiB = 1024 * 1024;
/** S3's smallest part (all but the last) and its largest part count. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;
/** What the server picks when the client does not ask: the AWS CLI's default chunk size. */
const DEFAULT_PART_SIZE = 8 * MiB;
/** The intent outlives the session by this much, so a completion started in time is never reaped. */
const INTENT_GRACE_SECONDS = 3600;

export interface UploadDeps extends CoreDeps {
  multipart: MultipartStore;
  sessions: UploadSessionStore;
  upload: UploadConfig;
}

/** Part size for `size` bytes: the client's wish when valid, else 8 MiB or more to stay ≤ 10,000 parts. */
export function choosePartSize(size: number, requested?: number): number {
  if (requested !== undefined) {
    if (!Number.isSafeInteger(requested) || requested < MIN_PART_SIZE || requested > MAX_PART_SIZE) {
      throw badRequest(
        `partSize ${requested} is invalid: give an integer between ${MIN_PART_SIZE} (5 MiB) and ${MAX_PART_SIZE} (5 GiB), or leave it out.`,
        'value',
      );
    }
    if (Math.ceil(size / requested) > MAX_PARTS) {
      throw badRequest(
        `partSize ${requested} would need ${Math.ceil(size / requested)} parts; at most ${MAX_PARTS} are allowed: use a partSize of at least ${Math.ceil(size / MAX_PARTS)}.`,
        'value',
      );
    }
    return requested;
  }
  const needed = Math.ceil(Math.ceil(size / MAX_PARTS) / MiB) * MiB;
  return Math.max(DEFAULT_PART_SIZE, needed);
}

export const partCount = (size: number, partSize: number) => Math.max(1, Math.ceil(size / partSize));

/** The size of part `n` (1-based) of an upload. */
export const expectedPartSize = (s: Pick<UploadSession, 'size' | 'partSize' | 'partCount'>, n: number) =>
  n < s.partCount ? s.partSize : s.size - s.partSize * (s.partCount - 1);

interface StartBody {
  contentType: string;
  size: number;
  securityContext?: string;
  sha256?: string;
  partSize?: number;
}

function parseStartBody(req: FhirRequest): StartBody {
  const ct = mediaType(header(req, 'content-type'));
  if (ct !== 'application/json' && ct !== 'application/fhir+json') {
    throw notSupported(415, 'Send the $upload request as application/json.');
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(req.body).toString('utf8'));
  } catch {
    throw badRequest('The $upload request is not valid JSON.', 'structure');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('The $upload request must be a JSON object {"contentType", "size", …}.', 'structure');
  const b = body as Record<string, unknown>;
  const known = new Set(['contentType', 'size', 'securityContext', 'sha256', 'partSize']);
  for (const k of Object.keys(b))
    if (!known.has(k))
      throw badRequest(`Unknown member "${k}": use contentType, size, securityContext, sha256, partSize.`);
  if (typeof b.contentType !== 'string' || mediaType(b.contentType) === undefined)
    throw badRequest(
      '"contentType" is required: the MIME type of the file, e.g. "application/pdf".',
      'required',
    );
  if (typeof b.size !== 'number' || !Number.isSafeInteger(b.size) || b.size < 1)
    throw badRequest(
      '"size" is required: the exact file size in bytes, a positive integer (empty files: use a direct create).',
      'required',
    );
  let securityContext: string | undefined;
  if (b.securityContext !== undefined) {
    const sc = b.securityContext;
    if (typeof sc === 'string' && sc !== '') securityContext = sc;
    else if (sc && typeof sc === 'object' && typeof (sc as { reference?: unknown }).reference === 'string')
      securityContext = (sc as { reference: string }).reference;
    else throw badRequest('"securityContext" must be a reference such as "Patient/123".', 'value');
  }
  if (
    b.sha256 !== undefined &&
    (typeof b.sha256 !== 'string' || Buffer.from(b.sha256, 'base64').length !== 32 || b.sha256.length !== 44)
  ) {
    throw badRequest(
      '"sha256" must be the base64 (44 characters) SHA-256 digest of the whole file.',
      'value',
    );
  }
  if (b.partSize !== undefined && typeof b.partSize !== 'number')
    throw badRequest('"partSize" must be a number of bytes (at least 5 MiB).', 'value');
  return {
    contentType: b.contentType,
    size: b.size,
    securityContext,
    sha256: b.sha256 as string | undefined,
    partSize: b.partSize as number | undefined,
  };
}

const uploadUrl = (req: FhirRequest, uploadId: string) => `${req.baseUrl}/Binary/$upload/${uploadId}`;

async function partUrls(deps: UploadDeps, s: UploadSession, numbers: number[]) {
  const seconds = Math.min(deps.upload.partUrlSeconds, 3600, Math.max(1, s.expiresAt - nowS(deps)));
  return Promise.all(
    numbers.map(async (partNumber) => ({
      partNumber,
      url: await deps.multipart.presignPart(s.blobKey, s.storeUploadId, partNumber, seconds),
    })),
  );
}

const nowS = (deps: CoreDeps) => Math.floor((deps.now ?? (() => new Date()))().getTime() / 1000);

/**
 * C28: POST [base]/Binary/$upload and POST [base]/Binary/{id}/$upload. Records the session and an
 * intent (orphan protection) before the multipart upload exists, then returns presigned part URLs.
 */
export async function startUpload(req: FhirRequest, deps: UploadDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const givenId = req.params.id === undefined ? undefined : requireId(req.params.id, 'id');
  const body = parseStartBody(req);
  let mode: UploadSession['mode'] = 'create';
  if (givenId !== undefined) {
    const head = await deps.repo.current(org, givenId);
    if (head && !head.deleted) mode = 'update';
  }
  const max = mode === 'create' ? deps.upload.maxCreateBytes : deps.upload.maxUpdateBytes;
  if (body.size > max) {
    throw tooLong(
      `size ${body.size} is over the ${mode === 'create' ? 'new Binary' : 'update'} limit of ${max} bytes (${(max / 1024 / MiB).toFixed(0)} GiB).`,
    );
  }
  const partSize = choosePartSize(body.size, body.partSize);
  const id = givenId ?? (deps.newId ?? randomUUID)();
  const blobKey = newBlobKey(org, id);
  const expiresAt = nowS(deps) + deps.upload.sessionSeconds;
  const uploadId = randomUUID();
  // The intent exists before any byte can: if nothing completes, the reaper aborts and deletes.
  await deps.repo.putIntent({ blobKey, org, id, expiresAt: expiresAt + INTENT_GRACE_SECONDS });
  const storeUploadId = await deps.multipart.create(blobKey, { contentType: body.contentType });
  await deps.repo.putIntent({
    blobKey,
    org,
    id,
    expiresAt: expiresAt + INTENT_GRACE_SECONDS,
    multipartUploadId: storeUploadId,
  });
  const session: UploadSession = {
    uploadId,
    org,
    id,
    mode: givenId === undefined ? 'create' : 'update',
    blobKey,
    storeUploadId,
    contentType: body.contentType,
    ...(body.securityContext !== undefined ? { securityContext: body.securityContext } : {}),
    size: body.size,
    ...(body.sha256 !== undefined ? { sha256: body.sha256 } : {}),
    partSize,
    partCount: partCount(body.size, partSize),
    expiresAt,
  };
  await deps.sessions.put(session);
  const numbers = Array.from({ length: session.partCount }, (_, i) => i + 1);
  return {
    status: 201,
    headers: {
      'Content-Type': 'application/json',
      Location: uploadUrl(req, uploadId),
      'Cache-Control': 'no-store',
    },
    json: {
      uploadId,
      id,
      size: body.size,
      partSize,
      parts: await partUrls(deps, session, numbers),
      expiresAt: new Date(expiresAt * 1000).toISOString(),
      status: uploadUrl(req, uploadId),
      complete: `${uploadUrl(req, uploadId)}/complete`,
      abort: uploadUrl(req, uploadId),
    },
    audit: { resourceId: id, bytes: 0 },
  };
}

/** The session of this tenant, or 404: another tenant's upload does not exist for the caller (C30). */
async function loadSession(req: FhirRequest, deps: UploadDeps): Promise<UploadSession> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const uploadId = req.params.uploadId ?? '';
  const missing = () =>
    notFound(
      `Upload ${uploadId} does not exist (or it completed, was aborted or expired): start a new $upload.`,
    );
  if (!isValidId(uploadId)) throw missing();
  const s = await deps.sessions.get(uploadId);
  if (!s || s.org !== org || s.expiresAt <= nowS(deps)) throw missing();
  return s;
}

/** Parts present with the size they must have, and the part numbers still to upload. */
function partProgress(s: UploadSession, parts: StoredPart[]) {
  const byNumber = new Map(parts.map((p) => [p.partNumber, p]));
  const missing: number[] = [];
  for (let n = 1; n <= s.partCount; n++) {
    if (byNumber.get(n)?.size !== expectedPartSize(s, n)) missing.push(n);
  }
  return { missing };
}

/** C29: GET [base]/Binary/$upload/{uploadId} — what S3 has, and fresh URLs for the rest. */
export async function uploadStatus(req: FhirRequest, deps: UploadDeps): Promise<FhirResponse> {
  const s = await loadSession(req, deps);
  const parts = s.assembled ? [] : ((await deps.multipart.listParts(s.blobKey, s.storeUploadId)) ?? []);
  const { missing } = s.assembled ? { missing: [] } : partProgress(s, parts);
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    json: {
      uploadId: s.uploadId,
      id: s.id,
      size: s.size,
      partSize: s.partSize,
      partCount: s.partCount,
      state: s.assembled ? 'assembled' : 'uploading',
      uploaded: parts.map((p) => ({ partNumber: p.partNumber, size: p.size })),
      parts: await partUrls(deps, s, missing),
      expiresAt: new Date(s.expiresAt * 1000).toISOString(),
      complete: `${uploadUrl(req, s.uploadId)}/complete`,
      abort: uploadUrl(req, s.uploadId),
    },
    audit: { resourceId: s.id },
  };
}

/** Ends a session whose bytes will never be committed: abort, delete the bytes, forget it. */
async function discardUpload(deps: UploadDeps, s: UploadSession): Promise<void> {
  await deps.multipart.abort(s.blobKey, s.storeUploadId);
  // Deletes the bytes only when no committed version refers to them (a racing completion).
  await reapIntent(deps, { blobKey: s.blobKey, org: s.org, id: s.id });
  await deps.repo.dropIntent(s.blobKey);
  await deps.sessions.delete(s.uploadId);
}

/** C30: DELETE [base]/Binary/$upload/{uploadId} → 204. */
export async function abortUpload(req: FhirRequest, deps: UploadDeps): Promise<FhirResponse> {
  const s = await loadSession(req, deps);
  await discardUpload(deps, s);
  return { status: 204, headers: {}, audit: { resourceId: s.id } };
}

/**
 * SHA-256 of the object, streamed in constant memory: `window` ranged reads run ahead while the
 * hash consumes them in order, so the network and the hash overlap (at most window × chunk bytes
 * are buffered).
 */
export async function sha256OfObject(
  store: Pick<MultipartStore, 'stream'>,
  key: string,
  size: number,
  chunk = 8 * MiB,
  window = 4,
): Promise<string> {
  const hash = createHash('sha256');
  const ranges: { start: number; end: number }[] = [];
  for (let start = 0; start < size; start += chunk)
    ranges.push({ start, end: Math.min(size, start + chunk) - 1 });
  const read = async (r: { start: number; end: number }) => {
    const bufs: Uint8Array[] = [];
    for await (const b of store.stream(key, r)) bufs.push(b);
    return bufs;
  };
  // A single range is hashed as it streams; only read-ahead ranges are buffered.
  if (ranges.length === 1) {
    for await (const b of store.stream(key, ranges[0]!)) hash.update(b);
    return hash.digest('base64');
  }
  const inflight: Promise<Uint8Array[]>[] = [];
  const ahead = (r: { start: number; end: number }) => {
    const p = read(r);
    p.catch(() => {}); // surfaced when awaited in order; never an unhandled rejection meanwhile
    inflight.push(p);
  };
  let next = 0;
  while (next < ranges.length && inflight.length < window) ahead(ranges[next++]!);
  while (inflight.length > 0) {
    const bufs = await inflight.shift()!;
    if (next < ranges.length) ahead(ranges[next++]!);
    for (const b of bufs) hash.update(b);
  }
  return hash.digest('base64');
}

/**
 * C30: POST [base]/Binary/$upload/{uploadId}/complete. Lists the parts itself, assembles the
 * object, checks size and (when declared) sha256, then commits like C10/C20. Each finished step
 * is recorded in the session, so a retried completion (after a timeout) resumes where it stopped.
 */
export async function completeUpload(req: FhirRequest, deps: UploadDeps): Promise<FhirResponse> {
  let s = await loadSession(req, deps);
  const ifMatch = ifMatchVid(req);
  // Fail fast before any expensive step; commitVersion checks again atomically.
  const head = await deps.repo.current(s.org, s.id);
  checkIfMatch(ifMatch, head);

  const mismatch = async (what: string) => {
    await discardUpload(deps, s);
    return unprocessable(`${what} No version was created and the upload was discarded: start a new $upload.`);
  };

  if (!s.assembled) {
    const parts = await deps.multipart.listParts(s.blobKey, s.storeUploadId);
    if (parts === undefined)
      throw notFound(`Upload ${s.uploadId} no longer exists in storage: start a new $upload.`);
    const present = new Set(parts.map((p) => p.partNumber));
    const absent = Array.from({ length: s.partCount }, (_, i) => i + 1).filter((n) => !present.has(n));
    if (absent.length > 0) {
      throw unprocessable(
        `Parts ${absent.join(', ')} of ${s.partCount} have not been uploaded: GET ${uploadUrl(req, s.uploadId)} for their URLs, upload them, then complete again.`,
        'business-rule',
      );
    }
    const total = parts.reduce((n, p) => n + p.size, 0);
    if (total !== s.size)
      throw await mismatch(`The parts hold ${total} bytes but the declared size is ${s.size}.`);
    await deps.multipart.complete(s.blobKey, s.storeUploadId, parts);
    await deps.sessions.mark(s.uploadId, { assembled: true });
    s = { ...s, assembled: true };
  }
  const object = await deps.multipart.head(s.blobKey);
  if (object?.size !== s.size)
    throw await mismatch(
      `The stored object holds ${object?.size ?? 0} bytes but the declared size is ${s.size}.`,
    );
  if (s.sha256 !== undefined && !s.verified) {
    const { verifyRangeBytes, verifyParallel } = deps.upload;
    const actual = await sha256OfObject(
      deps.multipart,
      s.blobKey,
      s.size,
      verifyRangeBytes > 0 ? verifyRangeBytes : s.size,
      Math.max(1, verifyParallel),
    );
    if (actual !== s.sha256)
      throw await mismatch(`The content's SHA-256 is ${actual} but the declared sha256 is ${s.sha256}.`);
    await deps.sessions.mark(s.uploadId, { verified: true });
  }

  const { resource } = binaryFromRaw(s.contentType, s.securityContext, new Uint8Array(0));
  let record: VersionRecord | undefined;
  try {
    record = await commitVersion(deps, {
      org: s.org,
      id: s.id,
      method: s.mode === 'create' ? 'POST' : 'PUT',
      ifMatch,
      mustBeNew: s.mode === 'create',
      content: () => ({ resource, size: s.size, blobKey: s.blobKey, sha256: s.sha256, intentKey: s.blobKey }),
    });
  } catch (e) {
    // A concurrent retry of this same completion committed first: answer with its version.
    const now = await deps.repo.current(s.org, s.id);
    if (now?.blobKey !== s.blobKey) throw e;
    record = now;
  }
  await deps.sessions.delete(s.uploadId);
  return writeResponse(req, record!, 'absent', false);
}
