import type { Bundle } from 'fhir/r4';
import { buildBundle, type EntrySpec } from './bundle';
import { pageLink } from './history';
import { requireId } from './ids';
import { mediaType, requireJsonFormat } from './media';
import { badRequest, notSupported } from './outcome';
import type { VersionRecord } from './ports';
import { preferStrict } from './prefer';
import type { CurrentCriteria, PageRequest, QueryDeps } from './queries';
import type { FhirRequest, FhirResponse } from './request';
import { header } from './request';
import { fhirJson } from './response';
import {
  decodeCursor,
  encodeCursor,
  matchesNothing,
  parseCount,
  requireSingle,
  SEARCH_PARAMS,
} from './search-params';

/** Result parameters and our paging cursor: known, so never "unknown" under handling=strict. */
const CONTROL = new Set(['_count', '_sort', '_summary', '_format', '_pretty', '_cursor']);
const KNOWN = new Set<string>([...SEARCH_PARAMS.map((p) => p.name), ...CONTROL]);

/** The values R4 defines for `_summary` (search.html#summary). */
const SUMMARY_VALUES = new Set(['true', 'text', 'data', 'count', 'false']);

/**
 * search.html#modifiers: a server SHALL reject a modifier it does not support. None is supported,
 * so `name:modifier` on a parameter this server knows → 400 (unknown names stay C25's concern).
 */
function rejectModifiers(params: Record<string, string[]>): void {
  for (const key of Object.keys(params)) {
    const [name, modifier] = key.split(':', 2) as [string, string | undefined];
    if (modifier !== undefined && KNOWN.has(name))
      throw badRequest(
        `The modifier :${modifier} is not supported on ${name}: search ${name} without a modifier.`,
        'not-supported',
      );
  }
}

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

/**
 * C25: GET [base]/Binary?… and POST [base]/Binary/_search. The parameters (SEARCH_PARAMS) fill
 * one set of criteria; the query adapter serves them (by `_id`, reading those heads; otherwise
 * from the sparse index of current Binaries on the `_lastUpdated` range) and owns the paging
 * positions the cursor carries.
 */
export async function searchBinary(req: FhirRequest, deps: QueryDeps): Promise<FhirResponse> {
  const org = requireId(req.params.organizationId, 'organizationId');
  requireJsonFormat(req);
  const params = searchParameters(req);
  const strict = preferStrict(req);
  const lenient = (msg: string) => {
    if (strict) throw badRequest(`${msg} (Prefer: handling=strict).`, 'invalid');
  };
  rejectModifiers(params);
  requireSingle(params, ['_count', '_sort', '_summary', '_cursor', '_format']);
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
  // Binary has no text element, so `data` is the whole resource, as `false` is; `true`/`text`
  // would drop data, which this server does not do on request: refused rather than ignored.
  if (summaryRaw !== undefined && !['count', 'false', 'data'].includes(summaryRaw))
    throw badRequest(
      `_summary=${summaryRaw} is not supported: use _summary=count (or false/data for whole resources).`,
      SUMMARY_VALUES.has(summaryRaw) ? 'not-supported' : 'value',
    );
  const cursorRaw = one('_cursor');
  const after = decodeCursor(cursorRaw, /^[\x21-\x7e]{1,400}$/);

  const criteria: CurrentCriteria = {};
  const used: [string, string][] = [];
  for (const p of SEARCH_PARAMS) {
    const values = params[p.name];
    if (values === undefined) continue;
    for (const v of p.parse(values, criteria)) used.push([p.name, v]);
  }
  used.push(['_sort', order === 'asc' ? '_lastUpdated' : '-_lastUpdated']);
  used.push(['_count', String(count)]);
  if (summaryCount) used.push(['_summary', 'count']);

  const result = await find(deps, org, criteria, { after, order, limit: summaryCount ? 0 : count });

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

/** The page asked for and Bundle.total: counted only when the page does not tell it already. */
async function find(
  deps: QueryDeps,
  org: string,
  criteria: CurrentCriteria,
  page: PageRequest,
): Promise<Found> {
  if (matchesNothing(criteria)) return { records: [], total: 0 };
  if (page.limit === 0) return { records: [], total: (await deps.queries.countCurrent(org, criteria)).count };
  const found = await deps.queries.searchCurrent(org, criteria, page);
  // The first page that holds everything is its own count; otherwise count the matches.
  const total =
    found.total ??
    (page.after === undefined && found.next === undefined
      ? found.records.length
      : (await deps.queries.countCurrent(org, criteria)).count);
  return { records: found.records, total, next: found.next };
}
