import { randomUUID } from 'node:crypto';
import { binaryFromRaw } from './binary';
import { checkIfMatch, ifMatchVid } from './conditional';
import { isValidId, requireId } from './ids';
import { notFound, tooLong, unprocessable } from './outcome';
import type { CoreDeps, VersionRecord } from './ports';
import { reapIntent } from './reaper';
import type { FhirRequest, FhirResponse } from './request';
import { writeResponse } from './response';
import type { UploadStartDocument, UploadStatusDocument } from './upload-api';
import { choosePartSize, partCount, partProgress } from './upload-parts';
import type { UploadDeps, UploadSession } from './upload-ports';
import { parseStartBody } from './upload-request';
import { sha256OfObject } from './upload-verify';
import { commitVersion, newBlobKey } from './write';

/*
 * The `$upload` operations (C28–C30): start, status, abort and complete. Part arithmetic lives in
 * upload-parts.ts, the start request in upload-request.ts, the sha256 check in upload-verify.ts,
 * the ports in upload-ports.ts.
 */

const MiB = 1024 * 1024;
/** The intent outlives the session by this much, so a completion started in time is never reaped. */
const INTENT_GRACE_SECONDS = 3600;

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
  // The size limit depends on whether a live resource is being replaced now; the session's
  // `mode` (below) depends only on which endpoint started it.
  const replacesLive =
    givenId !== undefined &&
    (await deps.repo.current(org, givenId).then((h) => h !== undefined && !h.deleted));
  const max = replacesLive ? deps.upload.maxUpdateBytes : deps.upload.maxCreateBytes;
  if (body.size > max) {
    throw tooLong(
      `size ${body.size} is over the ${replacesLive ? 'update' : 'new Binary'} limit of ${max} bytes (${(max / 1024 / MiB).toFixed(0)} GiB).`,
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
    } satisfies UploadStartDocument,
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
    } satisfies UploadStatusDocument,
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
