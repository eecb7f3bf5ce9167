import { createHash, randomUUID } from 'node:crypto';
import type { Binary } from 'fhir/r4';
import { describe } from './binary';
import { checkIfMatch } from './conditional';
import { conflict, preconditionFailed, tooLong, unavailable } from './outcome';
import type { CoreDeps, VersionRecord, WriteMethod } from './ports';
import { StoredBytesMismatchError, VersionConflictError } from './ports';

/** The content of a new version, with its bytes already staged in the blob store. */
export interface PreparedContent {
  resource: Omit<Binary, 'data' | 'id'>;
  size: number;
  blobKey?: string;
  sha256?: string;
  /** Intent or upload session the commit consumes (orphan protection). */
  intentKey?: string;
}

const MiB = 1024 * 1024;

/** C13: the size guard of every direct (non-upload) write, raw, FHIR JSON or patched. */
export function directSizeCheck(deps: CoreDeps): (bytes: number) => void {
  const max = deps.config.maxDirectBytes;
  return (n) => {
    if (n > max) {
      throw tooLong(
        `The data is ${n} bytes; direct writes accept at most ${max} bytes (${max / MiB} MiB). ` +
          'Upload larger files with the $upload operation (POST [base]/Binary/$upload).',
      );
    }
  };
}

/** Every object key of a resource's versions starts with this (the reaper checks it). */
export const blobKeyPrefix = (org: string, id: string) => `${org}/Binary/${id}/`;
/** Per-version blob keys are random so racing writers never share one and retries reuse it. */
export const newBlobKey = (org: string, id: string) => `${blobKeyPrefix(org, id)}${randomUUID()}`;

/**
 * Writes bytes before any metadata exists, protected by an intent: if the commit never
 * happens, the intent expires and its bytes are reclaimed (docs/ARCHITECTURE.md, Orphan cleanup).
 */
export async function stageBytes(
  deps: CoreDeps,
  org: string,
  id: string,
  bytes: Uint8Array,
  contentType: string,
): Promise<Pick<PreparedContent, 'size' | 'blobKey' | 'sha256' | 'intentKey'>> {
  if (bytes.length === 0) return { size: 0 };
  const blobKey = newBlobKey(org, id);
  const sha256 = createHash('sha256').update(bytes).digest('base64');
  const now = (deps.now ?? (() => new Date()))();
  await deps.repo.putIntent({
    blobKey,
    org,
    id,
    expiresAt: Math.floor(now.getTime() / 1000) + deps.config.intentTtlSeconds,
  });
  await verified(deps, blobKey, () => deps.blobs.put(blobKey, bytes, { contentType, sha256 }));
  return { size: bytes.length, blobKey, sha256, intentKey: blobKey };
}

/**
 * Runs a blob write; when the store holds other bytes than were sent, deletes them and answers
 * 503 (nothing stored, send again) instead of committing a wrong version (#11, C7).
 */
async function verified(deps: CoreDeps, blobKey: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    if (!(e instanceof StoredBytesMismatchError)) throw e;
    await discardStaged(deps, { blobKey, intentKey: blobKey });
    throw unavailable(
      'Storage did not keep the bytes exactly as they were sent, so nothing was stored. Send the request again.',
    );
  }
}

/**
 * Stages a server-side copy of a version's bytes under a new key, stored with `contentType`:
 * the object store serves the type stored on the object (C19 presigned reads), so a new
 * Content-Type needs an object of its own; the earlier version keeps its object and its type.
 */
export async function stageCopy(
  deps: CoreDeps,
  from: Pick<VersionRecord, 'org' | 'id' | 'size' | 'blobKey' | 'sha256'>,
  contentType: string,
): Promise<Pick<PreparedContent, 'size' | 'blobKey' | 'sha256' | 'intentKey'>> {
  if (from.blobKey === undefined || from.size === 0) return { size: 0 };
  const blobKey = newBlobKey(from.org, from.id);
  const now = (deps.now ?? (() => new Date()))();
  await deps.repo.putIntent({
    blobKey,
    org: from.org,
    id: from.id,
    expiresAt: Math.floor(now.getTime() / 1000) + deps.config.intentTtlSeconds,
  });
  await verified(deps, blobKey, () => deps.blobs.copy(from.blobKey!, blobKey, from.size, { contentType }));
  return { size: from.size, blobKey, sha256: from.sha256, intentKey: blobKey };
}

/**
 * Hands staged bytes that will never be committed to the reaper (their intent expires now): a
 * writer never deletes objects itself, only the reaper may (#14.8). If this fails, the intent's
 * own TTL hands them over later.
 */
export async function discardStaged(
  deps: CoreDeps,
  staged: { blobKey?: string; intentKey?: string },
): Promise<void> {
  if (staged.blobKey === undefined || staged.intentKey !== staged.blobKey) return;
  try {
    await deps.repo.expireIntent(staged.blobKey, pastExpiry(deps));
  } catch {
    // The intent's TTL reclaims the bytes later.
  }
}

/**
 * An expiry (epoch seconds) already past by the deps' clock: DynamoDB's TTL (and the local sweep)
 * removes items whose expiry is before now. Recent, since TTL ignores expiries over 5 years old.
 */
export const pastExpiry = (deps: Pick<CoreDeps, 'now'>) =>
  Math.floor((deps.now ?? (() => new Date()))().getTime() / 1000) - 1;

/**
 * A request whose remaining time cannot cover a commit is refused with 503 + Retry-After before
 * it commits (C7): a commit cut off by the function's timeout would leave a written version
 * behind a 5xx, and the client would not know whether to retry.
 */
export function ensureTimeToCommit(deps: CoreDeps): void {
  const left = deps.remainingMs?.();
  if (left === undefined || left >= deps.config.commitReserveMs) return;
  throw unavailable(
    'The service is busy and this request ran out of time before it could be committed; nothing was stored. Send it again.',
    Math.max(1, Math.ceil(deps.config.commitReserveMs / 1000)),
  );
}

export interface CommitRequest {
  org: string;
  id: string;
  method: WriteMethod;
  /** From If-Match (C21); undefined = last writer wins, retried until it commits. */
  ifMatch?: number;
  /**
   * POST with a server id: the resource must be new. The first attempt then commits without
   * reading the head (the commit's condition on vid 0 settles it; a lost race reports the head).
   */
  mustBeNew?: boolean;
  /**
   * The new content given the current version; called again on every retry (PATCH derives
   * it from the head). undefined = a delete.
   */
  content?: (head: VersionRecord | undefined) => PreparedContent | Promise<PreparedContent>;
}

const MAX_ATTEMPTS = 40;
const BASE_BACKOFF_MS = 5;
const MAX_BACKOFF_MS = 250;

/**
 * Commits one new version with optimistic concurrency (C21): read the head, write version+head
 * in one transaction conditioned on the head's vid, retry on conflict unless If-Match pinned the
 * version. Returns undefined for a delete of a missing or already deleted resource (C23).
 */
export async function commitVersion(deps: CoreDeps, req: CommitRequest): Promise<VersionRecord | undefined> {
  const now = deps.now ?? (() => new Date());
  /** The head a lost race reported, read again only when the store did not say. */
  let winner: VersionRecord | undefined;
  for (let attempt = 1; ; attempt++) {
    const head =
      winner ?? (attempt === 1 && req.mustBeNew ? undefined : await deps.repo.current(req.org, req.id));
    winner = undefined;
    checkIfMatch(req.ifMatch, head);
    if (req.mustBeNew && head) throw conflict(`Binary/${req.id} already exists.`);
    if (req.content === undefined && (head === undefined || head.deleted)) return undefined;

    const record: VersionRecord = {
      org: req.org,
      id: req.id,
      vid: (head?.vid ?? 0) + 1,
      lastUpdated: nextInstant(now(), head?.lastUpdated),
      method: req.method,
      created: req.content !== undefined && (head === undefined || head.deleted),
      deleted: req.content === undefined,
      size: 0,
    };
    let intentKey: string | undefined;
    if (req.content) {
      const c = await req.content(head);
      Object.assign(record, {
        resource: JSON.stringify(c.resource),
        ...describe(c.resource),
        size: c.size,
        blobKey: c.blobKey,
        sha256: c.sha256,
      });
      intentKey = c.intentKey;
    }
    ensureTimeToCommit(deps);
    try {
      await deps.repo.commit(stripUndefined(record), { expectedVid: head?.vid ?? 0, intentKey });
      return record;
    } catch (e) {
      if (!(e instanceof VersionConflictError)) throw e;
      winner = e.current;
      if (req.ifMatch !== undefined) {
        throw preconditionFailed(
          `If-Match W/"${req.ifMatch}" lost a race with a concurrent write: read the resource again and retry.`,
        );
      }
      if (attempt >= MAX_ATTEMPTS)
        throw conflict('Too many concurrent writes to this resource: retry later.');
      // Exponential backoff with full jitter spreads contending writers apart.
      const cap = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.min(attempt, 10));
      await new Promise((r) => setTimeout(r, Math.random() * cap));
    }
  }
}

/** lastUpdated strictly increases per resource even when clocks of two writers disagree. */
function nextInstant(now: Date, previous: string | undefined): string {
  const prev = previous ? Date.parse(previous) : 0;
  return new Date(Math.max(now.getTime(), prev + 1)).toISOString();
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
