import type { Bundle } from 'fhir/r4';
import { buildBundle, type EntrySpec } from './bundle';
import { pageLink } from './history';
import { isValidId, requireId } from './ids';
import { mediaType, requireJsonFormat } from './media';
import { badRequest, notSupported } from './outcome';
import type { VersionRecord } from './ports';
import { preferStrict } from './prefer';
import type { QueryDeps } from './queries';
import type { FhirRequest, FhirResponse } from './request';
import { header } from './request';
import { fhirJson } from './response';
import {
  decodeCursor,
  encodeCursor,
  type LastUpdatedFilter,
  matchesLastUpdated,
  parseCount,
  parseLastUpdated,
} from './search-params';

/** Search parameters of Binary this service supports (C25); also listed by the CapabilityStatement. */
export const SEARCH_PARAMS = [
  {
    name: '_id',
    type: 'token',
    definition: 'http://hl7.org/fhir/SearchParameter/Resource-id',
    documentation: 'Logical ids, comma-separated (any of).',
  },
  {
    name: '_lastUpdated',
    type: 'date',
    definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated',
    documentation: 'Prefixes eq ne gt lt ge le sa eb; repeat for a range. Served by an index.',
  },
  {
    name: '_language',
    type: 'token',
    definition: 'http://hl7.org/fhir/SearchParameter/Resource-language',
    documentation: 'Binary.language, comma-separated (any of).',
  },
] as const;

/** Result parameters and our paging cursor: known, so never "unknown" under handling=strict. */
const CONTROL = new Set(['_count', '_sort', '_summary', '_format', '_pretty', '_cursor']);
const KNOWN = new Set<string>([...SEARCH_PARAMS.map((p) => p.name), ...CONTROL]);
const MAX_IDS = 1000;

/** Query parameters, plus the form body of POST [base]/Binary/_search (search.html#Introduction). */
function searchParameters(req: FhirRequest): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, vs] of Object.entries(req.query)) out[k] = [...vs];
  if (req.method === 'POST') {
    const ct = mediaType(header(req, 'content-type'));
    if (req.body.length > 0 || ct !== undefined) {
      if (ct !== 'application/x-www-form-urlencoded')
        throw notSupported(415, 'POST _search takes application/x-www-form-urlencoded parameters.');
      for (const [k, v] of new URLSearchParams(Buffer.from(req.body).toString('utf8'))) {
        out[k] = [...(out[k] ?? []), v];
      }
    }
  }
  return out;
}

/** Comma lists AND-ed across repeats: the set of values every repeat allows. */
function tokenSet(values: string[] | undefined): Set<string> | undefined {
  if (!values) return undefined;
  let acc: Set<string> | undefined;
  for (const v of values) {
    const s = new Set(
      v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    );
    acc = acc === undefined ? s : new Set([...acc].filter((x) => s.has(x)));
  }
  return acc;
}

/** The sort key of a current Binary, as the `currentByTenant` index orders it. */
const keyOf = (r: VersionRecord) => `${r.lastUpdated}#${r.id}`;

/**
 * C25: GET [base]/Binary?… and POST [base]/Binary/_search. `_id` reads the heads directly;
 * otherwise the sparse `currentByTenant` index is queried on the `_lastUpdated` range, so only
 * matching (and current) Binaries are read: deleted ones are not in that index at all.
 */
export async function searchBinary(req: FhirRequest, deps: QueryDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  requireJsonFormat(req);
  const params = searchParameters(req);
  const strict = preferStrict(req);
  const lenient = (msg: string) => {
    if (strict) throw badRequest(`${msg} (Prefer: handling=strict).`, 'invalid');
  };
  const unknown = Object.keys(params).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0)
    lenient(
      `Unknown search parameter(s) ${unknown.join(', ')}: Binary supports ${[...KNOWN].filter((k) => k !== '_cursor').join(', ')}`,
    );

  const one = (k: string) => params[k]?.[params[k].length - 1];
  const count = parseCount(one('_count'));
  let order: 'asc' | 'desc' = 'asc';
  const sortRaw = one('_sort');
  if (sortRaw === '-_lastUpdated') order = 'desc';
  else if (sortRaw !== undefined && sortRaw !== '_lastUpdated')
    lenient(`_sort=${sortRaw} is not supported: use _lastUpdated or -_lastUpdated`);
  const summaryRaw = one('_summary');
  const summaryCount = summaryRaw === 'count';
  if (summaryRaw !== undefined && !summaryCount && summaryRaw !== 'false')
    lenient(`_summary=${summaryRaw} is not supported: use _summary=count`);
  const ids = tokenSet(params._id);
  const languages = tokenSet(params._language);
  const lu = parseLastUpdated(params._lastUpdated ?? []);
  const cursorRaw = one('_cursor');
  const after = decodeCursor(cursorRaw, /^[\x21-\x7e]{1,400}$/);
  if (ids && ids.size > MAX_IDS) throw badRequest(`_id lists at most ${MAX_IDS} ids per search.`, 'value');

  const used: [string, string][] = [];
  if (ids) used.push(['_id', [...ids].join(',')]);
  for (const v of params._lastUpdated ?? []) used.push(['_lastUpdated', v]);
  if (languages) used.push(['_language', [...languages].join(',')]);
  used.push(['_sort', order === 'asc' ? '_lastUpdated' : '-_lastUpdated']);
  used.push(['_count', String(count)]);
  if (summaryCount) used.push(['_summary', 'count']);

  const result =
    ids !== undefined
      ? await byIds(deps, org, ids, languages, lu, order, after, summaryCount ? 0 : count)
      : await byIndex(deps, org, languages, lu, order, after, summaryCount ? 0 : count);

  const link = [
    pageLink('self', req.baseUrl, '/Binary', [...used, ...(cursorRaw ? [['_cursor', cursorRaw]] : [])] as [
      string,
      string,
    ][]),
  ];
  if (result.next !== undefined)
    link.push(pageLink('next', req.baseUrl, '/Binary', [...used, ['_cursor', encodeCursor(result.next)]]));
  const shell: Omit<Bundle, 'entry'> = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: result.total,
    link,
  };
  const specs: EntrySpec[] = result.records.map((r) => ({
    entry: { fullUrl: `${req.baseUrl}/Binary/${r.id}`, search: { mode: 'match' } },
    record: r,
  }));
  const { bundle, inlineBytes } = await buildBundle(deps, shell, specs);
  return { ...fhirJson(200, bundle), audit: { bytes: inlineBytes } };
}

interface Found {
  records: VersionRecord[];
  total: number;
  next?: string;
}

async function byIds(
  deps: QueryDeps,
  org: string,
  ids: Set<string>,
  languages: Set<string> | undefined,
  lu: LastUpdatedFilter,
  order: 'asc' | 'desc',
  after: string | undefined,
  count: number,
): Promise<Found> {
  const valid = [...ids].filter(isValidId);
  const heads = valid.length > 0 ? await deps.queries.heads(org, valid) : [];
  const matches = heads
    .filter(
      (h) =>
        !h.deleted &&
        matchesLastUpdated(lu, h.lastUpdated) &&
        (languages === undefined || (h.language !== undefined && languages.has(h.language))),
    )
    .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1) * (order === 'asc' ? 1 : -1));
  const rest =
    after === undefined
      ? matches
      : matches.filter((h) => (order === 'asc' ? keyOf(h) > after : keyOf(h) < after));
  const records = rest.slice(0, count);
  const last = records[records.length - 1];
  return { records, total: matches.length, next: rest.length > count && last ? keyOf(last) : undefined };
}

async function byIndex(
  deps: QueryDeps,
  org: string,
  languages: Set<string> | undefined,
  lu: LastUpdatedFilter,
  order: 'asc' | 'desc',
  after: string | undefined,
  count: number,
): Promise<Found> {
  if (lu.empty || (languages !== undefined && languages.size === 0)) return { records: [], total: 0 };
  const filter = { exclude: lu.exclude, ...(languages ? { languages: [...languages] } : {}) };
  const range = { since: lu.since, before: lu.before };
  if (count === 0) {
    const { count: total } = await deps.queries.countCurrent(org, range, filter);
    return { records: [], total };
  }
  const page = await deps.queries.currentByLastUpdated(org, { ...range, after, order, limit: count }, filter);
  // The first page that holds everything is its own count; otherwise count the range.
  const total =
    after === undefined && page.next === undefined
      ? page.records.length
      : (await deps.queries.countCurrent(org, range, filter)).count;
  return { records: page.records, total, next: page.next };
}
