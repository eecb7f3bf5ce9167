import { createHash, randomUUID } from 'node:crypto';
import type { Notification, NotificationPublisher, PublishOutcome } from '../core/notification';
import type {
  BlobIntent,
  BlobPutOptions,
  BlobStore,
  CommitOptions,
  VersionRecord,
  VersionRepository,
} from '../core/ports';
import { StoredBytesMismatchError, VersionConflictError } from '../core/ports';
import type { CurrentCriteria, PageRequest, QueryPage, RangeQuery, VersionQueries } from '../core/queries';
import { matchesCriteria } from '../core/search-params';
import type {
  MultipartCreateOptions,
  MultipartStore,
  StoredPart,
  UploadSession,
  UploadSessionStore,
} from '../core/upload-ports';

/**
 * The ports of the core held in process memory: for unit tests and for trying the core without
 * any emulator. They keep the contracts the AWS adapters keep (test/support/port-conformance.ts
 * runs the same suite against both), including where AWS is strict: a commit is all or nothing,
 * an object key or a version is written once, S3's 5 MiB minimum for every part but the last.
 * Stored values are copies, so a caller mutating what it passed or got changes nothing stored.
 *
 * Presigned URLs are `memory:` URLs; `MemoryPorts.follow` plays the client that uses one.
 */

/** S3's smallest part of a multipart upload, except the last one. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

const copyOf = <T>(v: T): T => structuredClone(v);

/** An error named like the one the AWS service answers, so callers that test names behave alike. */
function awsError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

interface StoredObject {
  bytes: Uint8Array;
  contentType: string;
}

export class MemoryBlobStore implements BlobStore {
  /** Every object, by key; the multipart store assembles into the same map. */
  readonly objects = new Map<string, StoredObject>();

  async put(key: string, bytes: Uint8Array, options: BlobPutOptions): Promise<void> {
    if (options.sha256 && sha256(bytes) !== options.sha256)
      throw new StoredBytesMismatchError(`${key}: the SHA-256 of the bytes is not ${options.sha256}`);
    this.objects.set(key, { bytes: new Uint8Array(bytes), contentType: options.contentType });
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Uint8Array> {
    const o = this.object(key);
    return new Uint8Array(range ? o.bytes.subarray(range.start, range.end + 1) : o.bytes);
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async copy(from: string, to: string, size: number, options: BlobPutOptions): Promise<void> {
    const o = this.object(from);
    if (o.bytes.length !== size) throw new Error(`copy of ${from}: ${o.bytes.length} bytes, not ${size}`);
    this.objects.set(to, { bytes: new Uint8Array(o.bytes), contentType: options.contentType });
  }

  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return `memory://blobs/${encodeURIComponent(key)}?expires=${expiresInSeconds}`;
  }

  object(key: string): StoredObject {
    const o = this.objects.get(key);
    if (!o) throw awsError('NoSuchKey', `no object ${key}`);
    return o;
  }
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('base64');
const etagOf = (b: Uint8Array) => `"${createHash('md5').update(b).digest('hex')}"`;

interface Upload {
  key: string;
  contentType: string;
  parts: Map<number, Uint8Array>;
}

export class MemoryMultipartStore implements MultipartStore {
  readonly uploads = new Map<string, Upload>();

  constructor(private readonly blobs: MemoryBlobStore) {}

  async create(key: string, options: MultipartCreateOptions): Promise<string> {
    const uploadId = randomUUID();
    this.uploads.set(uploadId, { key, contentType: options.contentType, parts: new Map() });
    return uploadId;
  }

  async presignPart(key: string, uploadId: string, partNumber: number, expiresInSeconds: number) {
    const q = new URLSearchParams({ key, expires: String(expiresInSeconds) });
    return `memory://parts/${uploadId}/${partNumber}?${q}`;
  }

  /** What S3 does with a PUT to a presigned part URL. */
  putPart(uploadId: string, partNumber: number, bytes: Uint8Array): void {
    const u = this.uploads.get(uploadId);
    if (!u) throw awsError('NoSuchUpload', `no upload ${uploadId}`);
    u.parts.set(partNumber, new Uint8Array(bytes));
  }

  async listParts(key: string, uploadId: string): Promise<StoredPart[] | undefined> {
    const u = this.uploads.get(uploadId);
    if (!u || u.key !== key) return undefined;
    return [...u.parts.entries()]
      .sort(([a], [b]) => a - b)
      .map(([partNumber, bytes]) => ({ partNumber, size: bytes.length, etag: etagOf(bytes) }));
  }

  async complete(key: string, uploadId: string, parts: StoredPart[]): Promise<void> {
    const u = this.uploads.get(uploadId);
    if (!u || u.key !== key) throw awsError('NoSuchUpload', `no upload ${uploadId}`);
    if (parts.length === 0) throw awsError('MalformedXML', 'no parts');
    const chunks: Uint8Array[] = [];
    parts.forEach((p, i) => {
      const bytes = u.parts.get(p.partNumber);
      if (!bytes || etagOf(bytes) !== p.etag) throw awsError('InvalidPart', `part ${p.partNumber}`);
      if (i > 0 && p.partNumber <= parts[i - 1]!.partNumber) throw awsError('InvalidPartOrder', 'order');
      if (i < parts.length - 1 && bytes.length < MIN_PART_BYTES)
        throw awsError('EntityTooSmall', `part ${p.partNumber} is smaller than ${MIN_PART_BYTES} bytes`);
      chunks.push(bytes);
    });
    this.blobs.objects.set(key, { bytes: Buffer.concat(chunks), contentType: u.contentType });
    this.uploads.delete(uploadId);
  }

  async abort(_key: string, uploadId: string): Promise<void> {
    this.uploads.delete(uploadId);
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    const o = this.blobs.objects.get(key);
    return o ? { size: o.bytes.length } : undefined;
  }

  async *stream(key: string, range: { start: number; end: number }): AsyncIterable<Uint8Array> {
    const bytes = this.blobs.object(key).bytes.subarray(range.start, range.end + 1);
    // In chunks, as a socket delivers them.
    for (let i = 0; i < bytes.length; i += 64 * 1024) yield new Uint8Array(bytes.subarray(i, i + 64 * 1024));
  }
}

const resourceKey = (org: string, id: string) => `${org}\u0000${id}`;

export class MemoryVersionRepository implements VersionRepository {
  readonly heads = new Map<string, VersionRecord>();
  readonly versions = new Map<string, Map<number, VersionRecord>>();
  readonly intents = new Map<string, BlobIntent>();

  async current(org: string, id: string): Promise<VersionRecord | undefined> {
    const h = this.heads.get(resourceKey(org, id));
    return h && copyOf(h);
  }

  async version(org: string, id: string, vid: number): Promise<VersionRecord | undefined> {
    const v = this.versions.get(resourceKey(org, id))?.get(vid);
    return v && copyOf(v);
  }

  async commit(record: VersionRecord, { expectedVid, intentKey }: CommitOptions): Promise<void> {
    const k = resourceKey(record.org, record.id);
    const head = this.heads.get(k);
    // The same conditions as the DynamoDB transaction, all checked before anything is written.
    if ((head?.vid ?? 0) !== expectedVid) throw new VersionConflictError();
    if (this.versions.get(k)?.has(record.vid)) throw new VersionConflictError();
    if (intentKey !== undefined && !this.intents.has(intentKey)) throw new VersionConflictError();
    const stored = copyOf(record);
    if (!this.versions.has(k)) this.versions.set(k, new Map());
    this.versions.get(k)!.set(record.vid, stored);
    this.heads.set(k, stored);
    if (intentKey !== undefined) this.intents.delete(intentKey);
  }

  async putIntent(intent: BlobIntent): Promise<void> {
    this.intents.set(intent.blobKey, copyOf(intent));
  }

  async expireIntent(blobKey: string, at: number): Promise<void> {
    const intent = this.intents.get(blobKey);
    if (intent) intent.expiresAt = at;
  }

  async isCommitted(org: string, id: string, blobKey: string): Promise<boolean> {
    return [...(this.versions.get(resourceKey(org, id))?.values() ?? [])].some((v) => v.blobKey === blobKey);
  }

  /** Every version of a tenant (for the queries adapter). */
  versionsOf(org: string): VersionRecord[] {
    const out: VersionRecord[] = [];
    for (const vs of this.versions.values()) for (const v of vs.values()) if (v.org === org) out.push(v);
    return out;
  }
}

/** The first `limit` of `items` (already in query order and after the start position). */
function pageOf(
  items: { record: VersionRecord; position: string }[],
  limit: number,
  examined: number,
): QueryPage {
  const kept = items.slice(0, limit);
  return {
    records: kept.map((i) => copyOf(i.record)),
    next: items.length > limit ? kept[kept.length - 1]?.position : undefined,
    examined,
  };
}

/** Keeps the items strictly after `after` in the order `cmp`. */
const after = <T extends { position: string }>(items: T[], pos: string | undefined, cmp: Cmp) =>
  pos === undefined ? items : items.filter((i) => cmp(i.position, pos) > 0);

type Cmp = (a: string, b: string) => number;

const pad = (vid: number) => String(vid).padStart(10, '0');
const ascending = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const inOrder =
  (order: 'asc' | 'desc'): Cmp =>
  (a, b) =>
    order === 'asc' ? ascending(a, b) : ascending(b, a);

/**
 * History and search over a MemoryVersionRepository. Positions have the shape of the DynamoDB
 * adapter's (lastUpdated first), but like them they are this adapter's own and opaque to the core.
 */
export class MemoryVersionQueries implements VersionQueries {
  constructor(private readonly repo: MemoryVersionRepository) {}

  async resourceHistory(
    org: string,
    id: string,
    q: { after?: string; before?: string; limit: number },
  ): Promise<QueryPage> {
    const all = [...(this.repo.versions.get(resourceKey(org, id))?.values() ?? [])].sort(
      (a, b) => b.vid - a.vid,
    );
    const below = q.after === undefined ? all : all.filter((v) => v.vid < Number(q.after));
    const items = below
      .filter((v) => q.before === undefined || v.lastUpdated < q.before)
      .map((record) => ({ record, position: String(record.vid) }));
    return pageOf(items, q.limit, below.length);
  }

  async tenantHistory(org: string, q: RangeQuery): Promise<QueryPage> {
    const cmp = inOrder(q.order);
    const items = this.repo
      .versionsOf(org)
      .map((record) => ({ record, position: `${record.lastUpdated}#${record.id}#${pad(record.vid)}` }))
      .filter(
        (i) =>
          (q.since === undefined || i.position >= q.since) &&
          (q.before === undefined || i.position < q.before) &&
          (q.currentAt === undefined || this.currentAt(i.record, q.currentAt)),
      )
      .sort((a, b) => cmp(a.position, b.position));
    return pageOf(after(items, q.after, cmp), q.limit, items.length);
  }

  async countTenantHistory(org: string, q: { since?: string; before?: string }): Promise<number> {
    return this.repo
      .versionsOf(org)
      .filter(
        (r) =>
          (q.since === undefined || r.lastUpdated >= q.since) &&
          (q.before === undefined || r.lastUpdated < q.before),
      ).length;
  }

  /** A version from `instant` on, or the one current at `instant` (its successor is later). */
  private currentAt(r: VersionRecord, instant: string): boolean {
    if (r.lastUpdated >= instant) return true;
    const next = this.repo.versions.get(resourceKey(r.org, r.id))?.get(r.vid + 1);
    return next === undefined || next.lastUpdated > instant;
  }

  async searchCurrent(org: string, criteria: CurrentCriteria, page: PageRequest): Promise<QueryPage> {
    const cmp = inOrder(page.order);
    const heads = this.headsOf(org);
    const items = heads
      .filter((h) => matchesCriteria(criteria, h))
      .map((record) => ({ record, position: `${record.lastUpdated}#${record.id}` }))
      .sort((a, b) => cmp(a.position, b.position));
    const out = pageOf(after(items, page.after, cmp), page.limit, heads.length);
    // Like the DynamoDB adapter: the total is known when the ids were given.
    return criteria.ids !== undefined ? { ...out, total: items.length } : out;
  }

  async countCurrent(org: string, criteria: CurrentCriteria): Promise<{ count: number; examined: number }> {
    const heads = this.headsOf(org);
    return { count: heads.filter((h) => matchesCriteria(criteria, h)).length, examined: heads.length };
  }

  private headsOf(org: string): VersionRecord[] {
    return [...this.repo.heads.values()].filter((h) => h.org === org);
  }
}

export class MemoryUploadSessions implements UploadSessionStore {
  readonly sessions = new Map<string, UploadSession>();

  async put(session: UploadSession): Promise<void> {
    if (this.sessions.has(session.uploadId))
      throw awsError('ConditionalCheckFailedException', `upload ${session.uploadId} exists`);
    this.sessions.set(session.uploadId, copyOf(session));
  }

  async get(uploadId: string): Promise<UploadSession | undefined> {
    const s = this.sessions.get(uploadId);
    return s && copyOf(s);
  }

  async mark(uploadId: string, progress: Pick<UploadSession, 'assembled' | 'verified'>): Promise<void> {
    const s = this.sessions.get(uploadId);
    if (!s) throw awsError('ConditionalCheckFailedException', `no upload ${uploadId}`);
    for (const [k, v] of Object.entries(progress)) if (v !== undefined) Object.assign(s, { [k]: v });
  }

  async delete(uploadId: string): Promise<void> {
    this.sessions.delete(uploadId);
  }
}

/** Records what it publishes. */
export class MemoryPublisher implements NotificationPublisher {
  readonly published: Notification[] = [];

  async publishAll(ns: Notification[]): Promise<PublishOutcome[]> {
    for (const n of ns) this.published.push(copyOf(n));
    return ns.map(() => ({ ok: true }));
  }
}

export interface MemoryPorts {
  repo: MemoryVersionRepository;
  blobs: MemoryBlobStore;
  queries: MemoryVersionQueries;
  multipart: MemoryMultipartStore;
  sessions: MemoryUploadSessions;
  publisher: MemoryPublisher;
  /**
   * What a client does with a presigned URL of these stores: a GET of a blob URL returns the
   * object, a PUT of a part URL stores the part (S3 answers the same two through HTTP).
   */
  follow(
    url: string,
    init?: { method?: 'GET' | 'PUT'; body?: Uint8Array },
  ): Promise<{ bytes: Uint8Array; contentType: string } | undefined>;
}

/** One consistent set of in-memory ports (multipart uploads assemble into the blob store). */
export function memoryPorts(): MemoryPorts {
  const blobs = new MemoryBlobStore();
  const repo = new MemoryVersionRepository();
  const multipart = new MemoryMultipartStore(blobs);
  return {
    repo,
    blobs,
    queries: new MemoryVersionQueries(repo),
    multipart,
    sessions: new MemoryUploadSessions(),
    publisher: new MemoryPublisher(),
    async follow(url, init = {}) {
      const u = new URL(url);
      const path = u.pathname.split('/').filter(Boolean);
      if (u.protocol !== 'memory:') throw new Error(`not a memory URL: ${url}`);
      if (u.host === 'blobs' && (init.method ?? 'GET') === 'GET') {
        const o = blobs.object(decodeURIComponent(path[0] ?? ''));
        return { bytes: new Uint8Array(o.bytes), contentType: o.contentType };
      }
      if (u.host === 'parts' && init.method === 'PUT') {
        multipart.putPart(path[0]!, Number(path[1]), init.body ?? new Uint8Array());
        return undefined;
      }
      throw new Error(`${init.method ?? 'GET'} ${url} is not served`);
    },
  };
}
