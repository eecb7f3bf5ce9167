import type { Bundle, BundleLink } from 'fhir/r4';
import { buildBundle, type EntrySpec } from './bundle';
import { etag } from './conditional';
import { requireId } from './ids';
import { requireJsonFormat } from './media';
import { notFound } from './outcome';
import type { VersionRecord } from './ports';
import type { QueryDeps } from './queries';
import type { FhirRequest, FhirResponse } from './request';
import { queryOne } from './request';
import { fhirJson } from './response';
import { decodeCursor, encodeCursor, parseCount, requireDate, requireSingle } from './search-params';

/** C24: one version as a history entry; a delete entry has no resource. */
export function historyEntry(base: string, r: VersionRecord): EntrySpec {
  return {
    entry: {
      fullUrl: `${base}/Binary/${r.id}`,
      request: { method: r.method, url: r.method === 'POST' ? 'Binary' : `Binary/${r.id}` },
      response: {
        status: r.deleted ? '204 No Content' : r.created ? '201 Created' : '200 OK',
        etag: etag(r.vid),
        lastModified: r.lastUpdated,
      },
    },
    record: r.deleted ? undefined : r,
  };
}

/** A link to `path` with these parameters, in the order given. */
export function pageLink(
  relation: string,
  base: string,
  path: string,
  params: [string, string][],
): BundleLink {
  const qs = new URLSearchParams(params).toString();
  return { relation, url: `${base}${path}${qs ? `?${qs}` : ''}` };
}

interface HistoryParams {
  count: number;
  since?: string;
  at?: { lo: string; hi: string };
  /** The parameters as used, for the self and next links. */
  used: [string, string][];
}

function historyParams(req: FhirRequest): HistoryParams {
  requireJsonFormat(req);
  requireSingle(req.query, ['_count', '_since', '_at', '_cursor', '_format']);
  const count = parseCount(queryOne(req, '_count'));
  const sinceRaw = queryOne(req, '_since');
  const atRaw = queryOne(req, '_at');
  const since = sinceRaw === undefined ? undefined : requireDate('_since', sinceRaw).lo;
  const at = atRaw === undefined ? undefined : requireDate('_at', atRaw);
  const used: [string, string][] = [['_count', String(count)]];
  if (sinceRaw !== undefined) used.push(['_since', sinceRaw]);
  if (atRaw !== undefined) used.push(['_at', atRaw]);
  return { count, since, at, used };
}

/** One page of history as a Bundle, with its self and next links. */
interface HistoryPage {
  /** Path of the history below the base, e.g. `/Binary/_history`. */
  path: string;
  params: HistoryParams;
  /** The `_cursor` of this request, repeated in the self link. */
  cursor?: string;
  records: VersionRecord[];
  /** Position the next page continues after, when there is one. */
  next?: string;
  total?: number;
}

async function respond(req: FhirRequest, deps: QueryDeps, page: HistoryPage): Promise<FhirResponse> {
  const { path, params: p, cursor, records, next, total } = page;
  const link = [
    pageLink('self', req.baseUrl, path, [...p.used, ...(cursor ? [['_cursor', cursor]] : [])] as [
      string,
      string,
    ][]),
  ];
  if (next !== undefined)
    link.push(pageLink('next', req.baseUrl, path, [...p.used, ['_cursor', encodeCursor(next)]]));
  const shell: Omit<Bundle, 'entry'> = {
    resourceType: 'Bundle',
    type: 'history',
    ...(total !== undefined ? { total } : {}),
    link,
  };
  const { bundle, inlineBytes } = await buildBundle(
    deps,
    shell,
    records.map((r) => historyEntry(req.baseUrl, r)),
  );
  return { ...fhirJson(200, bundle), audit: { resourceId: req.params.id, bytes: inlineBytes } };
}

/**
 * C24: GET [base]/Binary/{id}/_history — the versions of one resource, newest first. Versions of
 * one resource have strictly increasing lastUpdated, so `_since` and `_at` cut the walk short: it
 * stops at the first version older than `_since`, and for `_at` after the version that was current
 * when the period began (the newest one not after its start).
 */
export async function historyInstance(req: FhirRequest, deps: QueryDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const id = requireId(req.params.id, 'id');
  const p = historyParams(req);
  const cursorRaw = queryOne(req, '_cursor');
  const after = decodeCursor(cursorRaw, /^[1-9][0-9]{0,9}$/);
  const head = await deps.repo.current(org, id);
  if (!head) throw notFound(`Binary/${id} does not exist, so it has no history.`);
  const path = `/Binary/${id}/_history`;
  const window = (limit: number, after?: string) => versionsInWindow(deps, org, id, p, limit, after);
  if (p.count === 0) {
    const total =
      p.since === undefined && p.at === undefined ? head.vid : (await window(head.vid)).records.length;
    return respond(req, deps, { path, params: p, cursor: cursorRaw, records: [], total });
  }
  const { records, next } = await window(p.count, after);
  // The whole window on one first page is its own count; otherwise walk it (one resource's versions).
  const total =
    p.since === undefined && p.at === undefined
      ? head.vid
      : after === undefined && next === undefined
        ? records.length
        : (await window(head.vid)).records.length;
  return respond(req, deps, { path, params: p, cursor: cursorRaw, records, next, total });
}

/**
 * One page of a resource's versions within `_since`/`_at`, newest first. Versions of one resource
 * have strictly increasing lastUpdated, so the walk stops at the first version older than `_since`,
 * and for `_at` after the version that was current when the period began.
 */
async function versionsInWindow(
  deps: QueryDeps,
  org: string,
  id: string,
  p: HistoryParams,
  limit: number,
  after?: string,
): Promise<{ records: VersionRecord[]; next?: string }> {
  const page = await deps.queries.resourceHistory(org, id, { after, before: p.at?.hi, limit });
  const records: VersionRecord[] = [];
  for (const r of page.records) {
    if (p.since !== undefined && r.lastUpdated < p.since) return { records };
    records.push(r);
    if (p.at !== undefined && r.lastUpdated <= p.at.lo) return { records };
  }
  return { records, next: page.next };
}

/**
 * C24: GET [base]/Binary/_history — every version of the tenant's Binaries, newest first, from
 * `VersionQueries.tenantHistory`. `_at` lists, as for one resource, the versions current at some
 * point of the period: those written during it and, of each Binary, the one current when it began.
 * `total` is given unless `_at` spans more than one page (counting it would read every version).
 */
export async function historyType(req: FhirRequest, deps: QueryDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  const p = historyParams(req);
  const cursorRaw = queryOne(req, '_cursor');
  const after = decodeCursor(cursorRaw, /^[\x21-\x7e]{1,400}$/);
  const path = '/Binary/_history';
  const count = () => deps.queries.countTenantHistory(org, { since: p.since });
  if (p.count === 0)
    return respond(req, deps, {
      path,
      params: p,
      cursor: cursorRaw,
      records: [],
      ...(p.at === undefined ? { total: await count() } : {}),
    });
  const page = await deps.queries.tenantHistory(org, {
    since: p.since,
    before: p.at?.hi,
    currentAt: p.at?.lo,
    after,
    order: 'desc',
    limit: p.count,
  });
  const total =
    after === undefined && page.next === undefined
      ? page.records.length
      : p.at === undefined
        ? await count()
        : undefined;
  return respond(req, deps, {
    path,
    params: p,
    cursor: cursorRaw,
    records: page.records,
    next: page.next,
    total,
  });
}
