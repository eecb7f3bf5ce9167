/**
 * Read-side port for history (C24) and search (C25). Kept apart from ports.ts so the write path
 * and the query path evolve independently; adapters in ../adapters/dynamo-queries.ts.
 */
import type { CoreDeps, VersionRecord } from './ports';

/**
 * Where a page starts and how long it is. Positions are the store's own (index sort keys, version
 * numbers): opaque to the core, which only hands a page's `next` back to continue after it.
 */
export interface PageRequest {
  /** Continue strictly after this position (from a previous page's `next`), in query order. */
  after?: string;
  order: 'asc' | 'desc';
  /** Records wanted; the adapter reads only as far as it needs to find them (plus one). */
  limit: number;
}

/** A bounded walk over one index ordered by lastUpdated. */
export interface RangeQuery extends PageRequest {
  /** Inclusive lower bound on lastUpdated (FHIR instant, UTC, milliseconds). */
  since?: string;
  /** Exclusive upper bound on lastUpdated. */
  before?: string;
  /**
   * History `_at` (http.html#history): of the versions older than this instant, keep only those
   * that were current at it (the resource's next version is later, or there is none); versions
   * from this instant on are kept as the other bounds say.
   */
  currentAt?: string;
}

/**
 * Which current (non-deleted) Binaries a search wants: every given condition must hold. Filled by
 * the search parameter table (search-params.ts), whose `filter`s say what each condition means;
 * the adapter serves it however its store does best (an index range, a batch read of ids).
 */
export interface CurrentCriteria {
  /** The id must be one of these. */
  ids?: string[];
  /** Inclusive lower bound on lastUpdated. */
  since?: string;
  /** Exclusive upper bound on lastUpdated. */
  before?: string;
  /** lastUpdated must fall outside every [lo, hi) (the `ne` prefix). */
  exclude?: { lo: string; hi: string }[];
  /** Binary.language must be one of these. */
  languages?: string[];
}

export interface QueryPage {
  records: VersionRecord[];
  /** Position of the last record when more records may follow, else undefined. */
  next?: string;
  /** The position of each record (same order), to continue after any of them. */
  positions?: string[];
  /** Index items the store examined to answer (DynamoDB ScannedCount): the cost of the query. */
  examined: number;
  /** Read capacity the store reports having consumed, when it reports it. */
  consumedCapacity?: number;
  /** How many records match in all, when the store learned it while answering. */
  total?: number;
}

export interface VersionQueries {
  /**
   * Versions of one resource, newest first (http://hl7.org/fhir/R4/http.html#history).
   * `after` is the position (version) to continue below; `before` filters out newer versions.
   */
  resourceHistory(
    org: string,
    id: string,
    q: { after?: string; before?: string; limit: number },
  ): Promise<QueryPage>;
  /** All versions of a tenant's Binaries by lastUpdated (an index of the store). */
  tenantHistory(org: string, q: RangeQuery): Promise<QueryPage>;
  /** How many versions of the tenant's Binaries fall in [since, before) (type history's Bundle.total). */
  countTenantHistory(org: string, q: { since?: string; before?: string }): Promise<number>;
  /**
   * One page of the tenant's current, non-deleted Binaries that meet `criteria`, by lastUpdated
   * (http://hl7.org/fhir/R4/search.html). How the store finds them is the adapter's choice
   * (DynamoDB: functions/adapters/dynamo-queries.ts).
   */
  searchCurrent(org: string, criteria: CurrentCriteria, page: PageRequest): Promise<QueryPage>;
  /** How many current Binaries meet `criteria` (for Bundle.total). */
  countCurrent(org: string, criteria: CurrentCriteria): Promise<{ count: number; examined: number }>;
}

export interface QueryDeps extends CoreDeps {
  queries: VersionQueries;
}
