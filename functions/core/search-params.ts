/**
 * Parsing of the query parameters shared by history (C24) and search (C25): `_count`, FHIR
 * dates with their implicit precision ranges, `_lastUpdated` prefixes, paging cursors, and the
 * table of Binary's search parameters (`SEARCH_PARAMS`).
 */
import { isValidId } from './ids';
import { badRequest } from './outcome';
import type { VersionRecord } from './ports';
import type { CurrentCriteria } from './queries';

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 1000;

/** `_count`: a non-negative integer; over the maximum it is lowered to it (search.html#count). */
export function parseCount(value: string | undefined, name = '_count'): number {
  if (value === undefined) return DEFAULT_COUNT;
  if (!/^\d{1,9}$/.test(value.trim()))
    throw badRequest(`${name}=${value} is not a non-negative integer: use e.g. ${name}=50.`, 'value');
  return Math.min(Number(value.trim()), MAX_COUNT);
}

/** A FHIR date/dateTime/instant as the half-open interval of instants it covers. */
export interface InstantRange {
  lo: string;
  hi: string;
}

const MIN_T = Date.parse('0001-01-01T00:00:00.000Z');
const MAX_T = Date.parse('9999-12-31T23:59:59.999Z');

const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The implicit range of a FHIR date value (search.html#date): `2024` covers the whole year,
 * `2024-03-01T10:00:00Z` one second, `…:00.123Z` one millisecond. Values without a time zone are
 * read in UTC, the server's zone. Returns undefined when the value is not a FHIR date.
 */
export function dateRange(value: string): InstantRange | undefined {
  const m = DATE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo === undefined ? 0 : Number(mo) - 1;
  const day = d === undefined ? 1 : Number(d);
  if (month > 11 || day < 1 || day > 31) return undefined;
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  let offsetMin = 0;
  if (tz !== undefined && tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    offsetMin = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6)));
  }
  const start = new Date(Date.UTC(year, month, day, hour, minute, second, ms));
  start.setUTCFullYear(year); // Date.UTC maps years 0–99 to 1900–1999.
  if (start.getUTCDate() !== day) return undefined; // e.g. 2024-02-30
  const t0 = start.getTime() - offsetMin * 60_000;
  let t1: number;
  if (mo === undefined) t1 = Date.UTC(year + 1, 0, 1) - offsetMin * 60_000;
  else if (d === undefined) t1 = Date.UTC(year, month + 1, 1) - offsetMin * 60_000;
  else if (h === undefined) t1 = t0 + 86_400_000;
  else if (s === undefined) t1 = t0 + 60_000;
  else if (frac === undefined) t1 = t0 + 1000;
  else t1 = t0 + 10 ** Math.max(0, 3 - frac.length);
  if (!Number.isFinite(t0) || !Number.isFinite(t1) || t0 < MIN_T) return undefined;
  // Keys compare as strings: keep both bounds inside the 4-digit years ISO strings sort by.
  return { lo: new Date(t0).toISOString(), hi: new Date(Math.min(t1, MAX_T)).toISOString() };
}

export function requireDate(name: string, value: string): InstantRange {
  const r = dateRange(value);
  if (!r)
    throw badRequest(
      `${name}=${value} is not a FHIR date: use e.g. 2024-03-01, 2024-03-01T10:00:00Z or 2024-03-01T10:00:00.000+01:00.`,
      'value',
    );
  return r;
}

/** The instants a set of `_lastUpdated` values allows: one interval, minus the `ne` holes. */
export interface LastUpdatedFilter {
  since?: string;
  before?: string;
  exclude: InstantRange[];
  /** True when the intervals cannot intersect: nothing matches. */
  empty: boolean;
}

const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'] as const;

/**
 * `_lastUpdated` with FHIR prefixes against a point in time (search.html#prefix). Repeated values
 * AND together; a comma list ORs, which we only accept with a single value.
 */
export function parseLastUpdated(values: string[]): LastUpdatedFilter {
  const out: LastUpdatedFilter = { exclude: [], empty: false };
  const raise = (lo?: string) => {
    if (lo !== undefined && (out.since === undefined || lo > out.since)) out.since = lo;
  };
  const lower = (hi?: string) => {
    if (hi !== undefined && (out.before === undefined || hi < out.before)) out.before = hi;
  };
  for (const raw of values) {
    if (raw.includes(','))
      throw badRequest(
        `_lastUpdated=${raw}: a comma list of dates is not supported; repeat the parameter for a range.`,
        'not-supported',
      );
    const p = /^[a-z]{2}/.exec(raw)?.[0];
    const prefix = p && (PREFIXES as readonly string[]).includes(p) ? p : undefined;
    if (p && !prefix && !/^\d/.test(raw))
      throw badRequest(`_lastUpdated prefix "${p}" is unknown: use one of ${PREFIXES.join(' ')}.`, 'value');
    const r = requireDate('_lastUpdated', prefix ? raw.slice(2) : raw);
    switch (prefix ?? 'eq') {
      case 'eq':
        raise(r.lo);
        lower(r.hi);
        break;
      case 'ne':
        out.exclude.push(r);
        break;
      case 'gt':
      case 'sa':
        raise(r.hi);
        break;
      case 'ge':
        raise(r.lo);
        break;
      case 'lt':
      case 'eb':
        lower(r.lo);
        break;
      case 'le':
        lower(r.hi);
        break;
    }
  }
  out.empty = out.since !== undefined && out.before !== undefined && out.since >= out.before;
  return out;
}

/** True when an instant passes a _lastUpdated filter (used where no index applies, e.g. `_id`). */
export function matchesLastUpdated(f: LastUpdatedFilter, instant: string): boolean {
  if (f.empty) return false;
  if (f.since !== undefined && instant < f.since) return false;
  if (f.before !== undefined && instant >= f.before) return false;
  return f.exclude.every((x) => instant < x.lo || instant >= x.hi);
}

/** Parameters that take one value: a repeat is ambiguous, so 400 rather than a guess (C24, C25). */
export function requireSingle(params: Record<string, string[]>, names: string[]): void {
  for (const n of names)
    if ((params[n]?.length ?? 0) > 1)
      throw badRequest(`${n} was given ${params[n]!.length} times: give it once.`, 'invalid');
}

/** Opaque paging cursor: base64url of the index position the next page continues after. */
export const encodeCursor = (position: string) => Buffer.from(position, 'utf8').toString('base64url');

export function decodeCursor(value: string | undefined, valid: RegExp): string | undefined {
  if (value === undefined) return undefined;
  const s = /^[A-Za-z0-9_-]{1,600}$/.test(value) ? Buffer.from(value, 'base64url').toString('utf8') : '';
  if (!valid.test(s))
    throw badRequest("The paging cursor is invalid: follow the Bundle's next link as given.", 'value');
  return s;
}

/**
 * One search parameter of Binary (C25). The CapabilityStatement lists `name`, `type`,
 * `definition` and `documentation`; `parse` and `filter` are the whole of its behaviour, so a new
 * parameter is one entry here (plus, where the store can serve it better than by filtering, its
 * adapter: functions/adapters/dynamo-queries.ts).
 */
export interface SearchParam {
  name: string;
  type: 'token' | 'date';
  /**
   * Its SearchParameter: the canonical URL of an R4 definition, or `SearchParameter/{id}` for
   * one this server defines and serves below the base (functions/core/definitions.ts).
   */
  definition: string;
  /** FHIRPath of the values it searches (SearchParameter.expression). */
  expression: string;
  documentation: string;
  /**
   * Reads every value given for the parameter (repeats AND together) into `criteria`; throws a
   * 400 OperationOutcome for a bad value. Returns the values as used, for the self and next links.
   */
  parse(values: string[], criteria: CurrentCriteria): string[];
  /** Whether a current Binary meets this parameter's part of `criteria`. */
  filter(criteria: CurrentCriteria, record: VersionRecord): boolean;
}

/** Comma lists AND-ed across repeats: the set of values every repeat allows. */
function tokenSet(values: string[]): Set<string> {
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
  return acc ?? new Set();
}

export const MAX_IDS = 1000;
/** C25: DynamoDB's IN takes at most 100 operands; `_language` values become them. */
export const MAX_LANGUAGES = 100;
/**
 * C25: each `_lastUpdated=ne…` adds a clause to one FilterExpression, which DynamoDB caps at 4 KB;
 * 50 of them (about 1.9 KB) plus 100 languages stay well inside it.
 */
export const MAX_EXCLUSIONS = 50;

/** Search parameters of Binary this service supports (C25), in the order links list them. */
export const SEARCH_PARAMS: readonly SearchParam[] = [
  {
    name: '_id',
    type: 'token',
    definition: 'http://hl7.org/fhir/SearchParameter/Resource-id',
    expression: 'Resource.id',
    documentation: 'Logical ids, comma-separated (any of).',
    parse(values, c) {
      const ids = tokenSet(values);
      if (ids.size > MAX_IDS) throw badRequest(`_id lists at most ${MAX_IDS} ids per search.`, 'value');
      // An id that is not a valid FHIR id names nothing: it is not even looked up.
      c.ids = [...ids].filter(isValidId);
      return [[...ids].join(',')];
    },
    filter: (c, r) => c.ids === undefined || c.ids.includes(r.id),
  },
  {
    name: '_lastUpdated',
    type: 'date',
    definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated',
    expression: 'Resource.meta.lastUpdated',
    documentation: 'Prefixes eq ne gt lt ge le sa eb; repeat for a range. Served by an index.',
    parse(values, c) {
      const lu = parseLastUpdated(values);
      if (lu.since !== undefined) c.since = lu.since;
      if (lu.before !== undefined) c.before = lu.before;
      if (lu.exclude.length > MAX_EXCLUSIONS)
        throw badRequest(
          `_lastUpdated takes at most ${MAX_EXCLUSIONS} ne values per search; ${lu.exclude.length} were given.`,
          'value',
        );
      if (lu.exclude.length > 0) c.exclude = lu.exclude;
      return values;
    },
    filter: (c, r) =>
      matchesLastUpdated(
        { since: c.since, before: c.before, exclude: c.exclude ?? [], empty: false },
        r.lastUpdated,
      ),
  },
  {
    name: '_language',
    type: 'token',
    // R4 defines no _language SearchParameter (Resource-language is R5): this server defines it.
    definition: 'SearchParameter/Binary-language',
    expression: 'Binary.language',
    documentation: 'Binary.language, comma-separated (any of).',
    parse(values, c) {
      c.languages = [...tokenSet(values)];
      if (c.languages.length > MAX_LANGUAGES)
        throw badRequest(
          `_language lists at most ${MAX_LANGUAGES} languages per search; ${c.languages.length} were given.`,
          'value',
        );
      return [c.languages.join(',')];
    },
    filter: (c, r) =>
      c.languages === undefined || (r.language !== undefined && c.languages.includes(r.language)),
  },
];

/** Whether a Binary's head meets every condition of `criteria` (deleted ones never do). */
export const matchesCriteria = (criteria: CurrentCriteria, head: VersionRecord): boolean =>
  !head.deleted && SEARCH_PARAMS.every((p) => p.filter(criteria, head));

/** True when no Binary can meet `criteria`: an empty range or an empty list of allowed values. */
export const matchesNothing = (c: CurrentCriteria): boolean =>
  (c.since !== undefined && c.before !== undefined && c.since >= c.before) ||
  c.ids?.length === 0 ||
  c.languages?.length === 0;
