/**
 * Read-side port for history (C24) and search (C25). Kept apart from ports.ts so the write path
 * and the query path evolve independently; adapters in ../adapters/dynamo-queries.ts.
 */
import type { CoreDeps, VersionRecord } from './ports';

/**
 * A bounded walk over one ordered index. `position`s are the index's own sort keys: opaque to
 * the core, which only hands them back to continue strictly after the last record it saw.
 */
export interface RangeQuery {
  /** Inclusive lower bound on lastUpdated (FHIR instant, UTC, milliseconds). */
  since?: string;
  /** Exclusive upper bound on lastUpdated. */
  before?: string;
  /** Continue strictly after this position, in query order. */
  after?: string;
  order: 'asc' | 'desc';
  /** Records wanted; the adapter reads only as far as it needs to find them (plus one). */
  limit: number;
}

/** Conditions evaluated on index items that the key range cannot express. */
export interface CurrentFilter {
  /** lastUpdated must fall outside every [lo, hi) (the `ne` prefix). */
  exclude?: { lo: string; hi: string }[];
  /** Binary.language must be one of these. */
  languages?: string[];
}

export interface QueryPage {
  records: VersionRecord[];
  /** Position of the last record when more records may follow, else undefined. */
  next?: string;
  /** Index items the store examined to answer (DynamoDB ScannedCount): the cost of the query. */
  examined: number;
  /** Read capacity the store reports having consumed, when it reports it. */
  consumedCapacity?: number;
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
  /** All versions of a tenant's Binaries by lastUpdated, through the `byTenant` index. */
  tenantHistory(org: string, q: RangeQuery): Promise<QueryPage>;
  /**
   * Current, non-deleted Binaries of a tenant by lastUpdated, through the sparse
   * `currentByTenant` index (http://hl7.org/fhir/R4/search.html#lastUpdated).
   */
  currentByLastUpdated(org: string, q: RangeQuery, filter?: CurrentFilter): Promise<QueryPage>;
  /** How many current Binaries the same range and filter match (for Bundle.total). */
  countCurrent(
    org: string,
    q: Pick<RangeQuery, 'since' | 'before'>,
    filter?: CurrentFilter,
  ): Promise<{ count: number; examined: number }>;
  /** The heads of these ids (deleted ones included; missing ones left out), one batch read. */
  heads(org: string, ids: string[]): Promise<VersionRecord[]>;
}

export interface QueryDeps extends CoreDeps {
  queries: VersionQueries;
}
