import { randomUUID } from 'node:crypto';
import { binaryFromRaw } from './binary';
import { checkIfMatch, ifMatchVid } from './conditional';
import { isValidId, requireId } from './ids';
import { conflict, notFound, type OperationOutcomeError, tooLong, unprocessable } from './outcome';
import type { CoreDeps, VersionRecord } from './ports';
import type { FhirRequest, FhirResponse } from './request';
import { versionUrl, writeResponse } from './response';
import type { UploadStartDocument, UploadStatusDocument } from './upload-api';
import { choosePartSize, expectedPartSize, partCount, partProgress } from './upload-parts';
import {
  PartsRejectedError,
  type StoredPart,
  type UploadDeps,
  UploadGoneError,
  type UploadSession,
} from './upload-ports';
import { parseStartBody } from './upload-request';
import { resumableSha256 } from './upload-verify';
import { commitVersion, newBlobKey, pastExpiry } from './write';

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
  if (!isValidId(uploadId)) throw missingUpload(uploadId);
  const s = await deps.sessions.get(uploadId);
  // An assembled upload stays completable while its intent protects the bytes (a completion
  // that started in time may need a few more requests to finish hashing).
  const until = s?.assembled && !s.ended ? s.expiresAt + INTENT_GRACE_SECONDS / 2 : (s?.expiresAt ?? 0);
  if (!s || s.org !== org || until <= nowS(deps)) throw missingUpload(uploadId);
  return s;
}

const missingUpload = (uploadId: string, why = 'does not exist (or it expired)') =>
  notFound(`Upload ${uploadId} ${why}: start a new $upload.`);

/** C29: GET [base]/Binary/$upload/{uploadId} — what S3 has, and fresh URLs for the rest. */
export async function uploadStatus(req: FhirRequest, deps: UploadDeps): Promise<FhirResponse> {
  const s = await loadSession(req, deps);
  if (s.ended === 'aborted' || s.ended === 'rejected')
    throw missingUpload(s.uploadId, s.ended === 'aborted' ? 'was aborted' : `was rejected (${s.reason})`);
  const done = s.assembled || s.ended === 'completed';
  const parts = done ? [] : ((await deps.multipart.listParts(s.blobKey, s.storeUploadId)) ?? []);
  const { missing } = done ? { missing: [] } : partProgress(s, parts);
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    json: {
      uploadId: s.uploadId,
      id: s.id,
      size: s.size,
      partSize: s.partSize,
      partCount: s.partCount,
      state: s.ended === 'completed' ? 'completed' : s.assembled ? 'assembled' : 'uploading',
      ...(s.hashedBytes !== undefined && !s.verified ? { verifiedBytes: s.hashedBytes } : {}),
      ...(s.ended === 'completed' && s.vid !== undefined
        ? { location: versionUrl(req, { id: s.id, vid: s.vid }) }
        : {}),
      uploaded: parts.map((p) => ({ partNumber: p.partNumber, size: p.size })),
      parts: await partUrls(deps, s, missing),
      expiresAt: new Date(s.expiresAt * 1000).toISOString(),
      complete: `${uploadUrl(req, s.uploadId)}/complete`,
      abort: uploadUrl(req, s.uploadId),
    } satisfies UploadStatusDocument,
    audit: { resourceId: s.id },
  };
}

/**
 * Ends a session whose bytes will never be committed: abort, hand the bytes to the reaper, keep the
 * session as a tombstone (`ended`) so a repeated abort or complete answers the same (C30).
 */
async function discardUpload(
  deps: UploadDeps,
  s: UploadSession,
  ended: 'aborted' | 'rejected',
  reason?: string,
) {
  await deps.multipart.abort(s.blobKey, s.storeUploadId);
  // An assembled object goes to the reaper (its intent expires now), which deletes it only when
  // no committed version refers to it (a racing completion); writers never delete (#14.8).
  await deps.repo.expireIntent(s.blobKey, pastExpiry(deps));
  await deps.sessions.mark(s.uploadId, { ended, ...(reason !== undefined ? { reason } : {}) });
}

/** C30: DELETE [base]/Binary/$upload/{uploadId} → 204, also when it was already aborted. */
export async function abortUpload(req: FhirRequest, deps: UploadDeps): Promise<FhirResponse> {
  const s = await loadSession(req, deps);
  if (s.ended === 'completed')
    throw conflict(
      `Upload ${s.uploadId} already completed as Binary/${s.id}/_history/${s.vid}: delete the Binary instead.`,
    );
  if (s.ended === undefined) await discardUpload(deps, s, 'aborted');
  return { status: 204, headers: {}, audit: { resourceId: s.id } };
}

/** The answer to a completion that committed (the first time, and every repeat after it). */
async function completedResponse(
  req: FhirRequest,
  deps: UploadDeps,
  s: UploadSession,
  record?: VersionRecord,
) {
  const r = record ?? (s.vid !== undefined ? await deps.repo.version(s.org, s.id, s.vid) : undefined);
  if (!r) throw missingUpload(s.uploadId);
  return writeResponse(req, r, 'absent', false);
}

/**
 * How long after a completion asked storage to assemble the parts a retry that finds neither the
 * upload nor the object still waits for it (S3 can take minutes for a large upload).
 */
const ASSEMBLY_GRACE_SECONDS = 15 * 60;

/** 202 + Retry-After: storage is still assembling the parts an earlier completion sent (C30). */
function stillAssembling(req: FhirRequest, s: UploadSession): FhirResponse {
  return {
    status: 202,
    headers: {
      'Content-Type': 'application/json',
      'Retry-After': '2',
      'Content-Location': uploadUrl(req, s.uploadId),
      'Cache-Control': 'no-store',
    },
    json: { uploadId: s.uploadId, id: s.id, state: 'assembling', size: s.size },
  };
}

/** 202 + Retry-After: the completion made progress and continues on the next request (C30). */
function stillVerifying(req: FhirRequest, s: UploadSession, hashed: number): FhirResponse {
  return {
    status: 202,
    headers: {
      'Content-Type': 'application/json',
      'Retry-After': '1',
      'Content-Location': uploadUrl(req, s.uploadId),
      'Cache-Control': 'no-store',
    },
    json: {
      uploadId: s.uploadId,
      id: s.id,
      state: 'assembled',
      size: s.size,
      verifiedBytes: hashed,
      complete: `${uploadUrl(req, s.uploadId)}/complete`,
    },
    audit: { resourceId: s.id },
  };
}

/**
 * C30: POST [base]/Binary/$upload/{uploadId}/complete. Lists the parts itself, assembles the
 * object, checks size and (when declared) sha256, then commits like C10/C20. Every step is
 * recorded in the session, so a completion cut off at any point (time budget, crash, lost
 * answer) resumes where it stopped, and a repeat after the end gets the same answer:
 * - parts listed, not assembled: lists and assembles again;
 * - assembled by S3 but not recorded: the upload is gone and the object is there — recorded now;
 * - mid-hash: the sha256 resumes from the last checkpoint (saved every
 *   `verifyCheckpointBytes`, and whenever the time budget runs low: then 202 + Retry-After);
 * - verified, not committed: commits;
 * - committed, not recorded: the head holds the upload's bytes — recorded now;
 * - ended: the same 201/200 (completed) or 422 (rejected) as the first time.
 */
export async function completeUpload(req: FhirRequest, deps: UploadDeps): Promise<FhirResponse> {
  let s = await loadSession(req, deps);
  if (s.ended === 'completed') return completedResponse(req, deps, s);
  if (s.ended === 'rejected') throw unprocessable(s.reason ?? 'The upload was rejected.');
  if (s.ended === 'aborted') throw missingUpload(s.uploadId, 'was aborted');

  const head = await deps.repo.current(s.org, s.id);
  if (head?.blobKey === s.blobKey) return finish(req, deps, s, head);
  const ifMatch = ifMatchVid(req);
  // Fail fast before any expensive step; commitVersion checks again atomically.
  checkIfMatch(ifMatch, head);

  const reject = async (what: string) => {
    const reason = `${what} No version was created and the upload was discarded: start a new $upload.`;
    await discardUpload(deps, s, 'rejected', reason);
    return unprocessable(reason);
  };

  if (!s.assembled) {
    const assembled = await assemble(req, deps, s, reject);
    if (assembled === 'in-progress') return stillAssembling(req, s);
    if (assembled === 'gone') throw missingUpload(s.uploadId, 'no longer exists in storage');
    await deps.sessions.mark(s.uploadId, { assembled: true });
    s = { ...s, assembled: true };
  }
  const object = await deps.multipart.head(s.blobKey);
  if (object?.size !== s.size)
    throw await reject(
      `The stored object holds ${object?.size ?? 0} bytes but the declared size is ${s.size}.`,
    );

  if (s.sha256 !== undefined && !s.verified) {
    const { verifyRangeBytes, verifyParallel, verifyCheckpointBytes, verifyReserveMs } = deps.upload;
    const result = await resumableSha256(deps.multipart, s.blobKey, s.size, {
      ...(s.hashedBytes !== undefined ? { from: { offset: s.hashedBytes, state: s.hashState } } : {}),
      chunk: verifyRangeBytes > 0 ? verifyRangeBytes : s.size,
      window: Math.max(1, verifyParallel),
      checkpointEvery: verifyCheckpointBytes > 0 ? verifyCheckpointBytes : undefined,
      save: (c) => deps.sessions.mark(s.uploadId, { hashedBytes: c.offset, hashState: c.state }),
      pause: () => deps.remainingMs !== undefined && deps.remainingMs() < verifyReserveMs,
    });
    if (!result.done) return stillVerifying(req, s, result.checkpoint.offset);
    if (result.digest !== s.sha256)
      throw await reject(`The content's SHA-256 is ${result.digest} but the declared sha256 is ${s.sha256}.`);
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
  return finish(req, deps, s, record!);
}

/** Records the completion on the session (kept as a tombstone until it expires) and answers. */
async function finish(req: FhirRequest, deps: UploadDeps, s: UploadSession, record: VersionRecord) {
  await deps.sessions.mark(s.uploadId, { ended: 'completed', vid: record.vid });
  return completedResponse(req, deps, s, record);
}

/**
 * Assembles the uploaded parts into the object. False when the multipart upload is gone and no
 * complete object stands in its place; true when assembled now or by an earlier, cut-off call.
 */
async function assemble(
  req: FhirRequest,
  deps: UploadDeps,
  s: UploadSession,
  reject: (what: string) => Promise<OperationOutcomeError>,
): Promise<'assembled' | 'in-progress' | 'gone'> {
  const parts = await deps.multipart.listParts(s.blobKey, s.storeUploadId);
  /** The upload is gone: assembled earlier, still being assembled, or lost. */
  const gone = async () => {
    if ((await deps.multipart.head(s.blobKey))?.size === s.size) return 'assembled' as const;
    const asked = s.assemblingSince;
    return asked !== undefined && nowS(deps) - asked < ASSEMBLY_GRACE_SECONDS
      ? ('in-progress' as const)
      : ('gone' as const);
  };
  if (parts === undefined) return gone();
  const present = new Set(parts.map((p) => p.partNumber));
  const absent = Array.from({ length: s.partCount }, (_, i) => i + 1).filter((n) => !present.has(n));
  const statusHint = `GET ${uploadUrl(req, s.uploadId)} for their URLs, upload them`;
  if (absent.length > 0) {
    throw unprocessable(
      `Parts ${absent.join(', ')} of ${s.partCount} have not been uploaded: ${statusHint}, then complete again.`,
      'business-rule',
    );
  }
  const total = parts.reduce((n, p) => n + p.size, 0);
  if (total !== s.size)
    throw await reject(`The parts hold ${total} bytes but the declared size is ${s.size}.`);
  // The right total in the wrong pieces (S3 would answer EntityTooSmall): name the parts.
  const wrong = parts.filter(
    (p) => p.partNumber <= s.partCount && p.size !== expectedPartSize(s, p.partNumber),
  );
  if (wrong.length > 0) throw wrongParts(s, wrong, statusHint);
  s.assemblingSince = nowS(deps);
  await deps.sessions.mark(s.uploadId, { assemblingSince: s.assemblingSince });
  try {
    await deps.multipart.complete(
      s.blobKey,
      s.storeUploadId,
      parts.filter((p) => p.partNumber <= s.partCount),
    );
  } catch (e) {
    if (e instanceof PartsRejectedError)
      throw unprocessable(
        `Storage refused the parts (${e.code}): each part but the last must be exactly ${s.partSize} bytes; ${statusHint} again, then complete again.`,
        'business-rule',
      );
    if (e instanceof UploadGoneError) return gone();
    throw e;
  }
  return 'assembled';
}

function wrongParts(s: UploadSession, wrong: StoredPart[], statusHint: string) {
  const list = wrong
    .map((p) => `part ${p.partNumber} has ${p.size} bytes, must have ${expectedPartSize(s, p.partNumber)}`)
    .join('; ');
  return unprocessable(
    `Parts of the wrong size (${list}). Every part but the last is exactly partSize (${s.partSize}) bytes and part n starts at byte (n − 1) × partSize: ${statusHint} again, then complete again.`,
    'business-rule',
  );
}
