import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { VersionRecord } from '../core/ports';
import type { CurrentCriteria, PageRequest, QueryPage, RangeQuery, VersionQueries } from '../core/queries';
import { matchesCriteria } from '../core/search-params';
import {
  INDEX_BY_TENANT,
  INDEX_CURRENT_BY_TENANT,
  keys,
  recordFromItem,
  VERSION_PREFIX,
} from './dynamo-schema';

/** Key condition on one sort key, and the bound values a BETWEEN includes that must be dropped. */
interface SortRange {
  expr: string;
  values: Record<string, string>;
  drop: string[];
}

/**
 * Turns since/before/after into one DynamoDB key condition on `sk`. Sort keys start with the
 * 24-character lastUpdated instant, so comparing a key with an instant compares the instants;
 * positions are whole keys. DynamoDB has a single condition per sort key, so two bounds become an
 * inclusive BETWEEN whose exact bound values (positions already seen) are dropped afterwards.
 */
export function sortRange(sk: string, q: Omit<RangeQuery, 'limit'>): SortRange | 'empty' | undefined {
  let lower: string | undefined = q.since;
  let upper = q.before;
  // Instants never equal a key (keys go on with `#…`), so only a position bound needs dropping.
  let drop: string[] = [];
  let lowerExclusive = false;
  if (q.after !== undefined) {
    if (q.order === 'asc') {
      if (lower === undefined || q.after >= lower) {
        lower = q.after;
        lowerExclusive = true;
        drop = [q.after];
      }
    } else if (upper === undefined || q.after < upper) {
      upper = q.after;
      drop = [q.after];
    }
  }
  if (lower !== undefined && upper !== undefined) {
    if (lower >= upper) return 'empty';
    return { expr: `${sk} BETWEEN :lo AND :hi`, values: { ':lo': lower, ':hi': upper }, drop };
  }
  if (lower !== undefined)
    return { expr: `${sk} ${lowerExclusive ? '>' : '>='} :lo`, values: { ':lo': lower }, drop: [] };
  if (upper !== undefined) return { expr: `${sk} < :hi`, values: { ':hi': upper }, drop: [] };
  return undefined;
}

/** The conditions of `criteria` the index's key range cannot express, as a FilterExpression. */
function currentFilter(filter: CurrentCriteria): {
  expr?: string;
  names: Record<string, string>;
  values: Record<string, string>;
} {
  const parts: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, string> = {};
  (filter.exclude ?? []).forEach((x, i) => {
    names['#lu'] = 'lastUpdated';
    values[`:xlo${i}`] = x.lo;
    values[`:xhi${i}`] = x.hi;
    parts.push(`(#lu < :xlo${i} OR #lu >= :xhi${i})`);
  });
  if (filter.languages) {
    names['#lang'] = 'language';
    const vs = filter.languages.map((l, i) => {
      values[`:lang${i}`] = l;
      return `:lang${i}`;
    });
    parts.push(`#lang IN (${vs.join(', ')})`);
  }
  return { expr: parts.length > 0 ? parts.join(' AND ') : undefined, names, values };
}

/** DynamoDB rejects a Limit over this many items per page anyway (1 MB pages). */
const MAX_PAGE = 1000;

/**
 * History and search over the table and its two GSIs (layout in dynamo-schema.ts). Every
 * query is a Query on one partition (a resource, or a tenant in an index) with a key condition on
 * the sort key: never a Scan, so a request reads the matching range only.
 */
export class DynamoVersionQueries implements VersionQueries {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async resourceHistory(
    org: string,
    id: string,
    q: { after?: string; before?: string; limit: number },
  ): Promise<QueryPage> {
    const pk = keys.resource(org, id);
    const range =
      q.after === undefined
        ? { expr: 'begins_with(sk, :v)', values: { ':v': VERSION_PREFIX }, drop: [] }
        : {
            expr: 'sk BETWEEN :lo AND :hi',
            values: { ':lo': VERSION_PREFIX, ':hi': keys.version(Number(q.after)) },
            drop: [keys.version(Number(q.after))],
          };
    return this.collect(
      {
        TableName: this.table,
        KeyConditionExpression: `pk = :pk AND ${range.expr}`,
        ...(q.before ? { FilterExpression: 'lastUpdated < :before' } : {}),
        ExpressionAttributeValues: {
          ':pk': pk,
          ...range.values,
          ...(q.before ? { ':before': q.before } : {}),
        },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      'sk',
      range.drop,
      q.limit,
      (item) => String(item.vid),
    );
  }

  tenantHistory(org: string, q: RangeQuery): Promise<QueryPage> {
    const range = sortRange('tsk', q);
    if (range === 'empty') return Promise.resolve({ records: [], examined: 0 });
    return this.collect(
      {
        TableName: this.table,
        IndexName: INDEX_BY_TENANT,
        KeyConditionExpression: `tpk = :org${range ? ` AND ${range.expr}` : ''}`,
        ExpressionAttributeValues: { ':org': org, ...range?.values },
        ScanIndexForward: q.order === 'asc',
      },
      'tsk',
      range?.drop ?? [],
      q.limit,
      (item) => String(item.tsk),
      q.currentAt === undefined ? undefined : (items) => this.currentAt(items, q.currentAt!),
    );
  }

  /**
   * `_at`: of the index items older than `instant`, those whose resource had its next version by
   * then were no longer current; one batch read of those next versions per page decides.
   */
  private async currentAt(items: Record<string, unknown>[], instant: string) {
    const records = items.map(recordFromItem);
    const nextKey = (r: VersionRecord) => ({ pk: keys.resource(r.org, r.id), sk: keys.version(r.vid + 1) });
    const older = records.filter((r) => r.lastUpdated < instant);
    const nexts = await this.batchGet(older.map(nextKey));
    const superseded = new Set(
      nexts.filter((n) => String(n.lastUpdated) <= instant).map((n) => `${n.pk}\n${n.sk}`),
    );
    return items.filter((_, i) => {
      const r = records[i]!;
      if (r.lastUpdated >= instant) return true;
      const k = nextKey(r);
      return !superseded.has(`${k.pk}\n${k.sk}`);
    });
  }

  async countTenantHistory(org: string, q: { since?: string; before?: string }): Promise<number> {
    const range = sortRange('tsk', { ...q, order: 'asc' });
    if (range === 'empty') return 0;
    let count = 0;
    const pages = paginateQuery(
      { client: this.ddb },
      {
        TableName: this.table,
        IndexName: INDEX_BY_TENANT,
        KeyConditionExpression: `tpk = :org${range ? ` AND ${range.expr}` : ''}`,
        ExpressionAttributeValues: { ':org': org, ...range?.values },
        Select: 'COUNT',
      },
    );
    for await (const p of pages) count += p.Count ?? 0;
    return count;
  }

  searchCurrent(org: string, criteria: CurrentCriteria, page: PageRequest): Promise<QueryPage> {
    if (criteria.ids !== undefined) return this.currentByIds(org, criteria, page);
    const range = sortRange('csk', { since: criteria.since, before: criteria.before, ...page });
    if (range === 'empty') return Promise.resolve({ records: [], examined: 0 });
    const f = currentFilter(criteria);
    return this.collect(
      {
        TableName: this.table,
        IndexName: INDEX_CURRENT_BY_TENANT,
        KeyConditionExpression: `cpk = :org${range ? ` AND ${range.expr}` : ''}`,
        ...(f.expr ? { FilterExpression: f.expr, ExpressionAttributeNames: f.names } : {}),
        ExpressionAttributeValues: { ':org': org, ...range?.values, ...f.values },
        ScanIndexForward: page.order === 'asc',
      },
      'csk',
      range?.drop ?? [],
      page.limit,
      (item) => String(item.csk),
    );
  }

  async countCurrent(org: string, criteria: CurrentCriteria): Promise<{ count: number; examined: number }> {
    if (criteria.ids !== undefined) {
      const heads = await this.heads(org, criteria.ids);
      return { count: heads.filter((h) => matchesCriteria(criteria, h)).length, examined: heads.length };
    }
    const range = sortRange('csk', { since: criteria.since, before: criteria.before, order: 'asc' });
    if (range === 'empty') return { count: 0, examined: 0 };
    const f = currentFilter(criteria);
    let count = 0;
    let examined = 0;
    const pages = paginateQuery(
      { client: this.ddb },
      {
        TableName: this.table,
        IndexName: INDEX_CURRENT_BY_TENANT,
        KeyConditionExpression: `cpk = :org${range ? ` AND ${range.expr}` : ''}`,
        ...(f.expr ? { FilterExpression: f.expr, ExpressionAttributeNames: f.names } : {}),
        ExpressionAttributeValues: { ':org': org, ...range?.values, ...f.values },
        Select: 'COUNT',
      },
    );
    for await (const p of pages) {
      count += p.Count ?? 0;
      examined += p.ScannedCount ?? 0;
    }
    return { count, examined };
  }

  /**
   * `_id` searches: one batch read of the heads, filtered here, ordered and paged by the same
   * position (the `currentByTenant` sort key) the index uses, so cursors look alike.
   */
  private async currentByIds(org: string, criteria: CurrentCriteria, page: PageRequest): Promise<QueryPage> {
    const heads = await this.heads(org, criteria.ids ?? []);
    const dir = page.order === 'asc' ? 1 : -1;
    const matches = heads
      .filter((h) => matchesCriteria(criteria, h))
      .map((h) => ({ h, position: keys.current(h) }))
      .sort((a, b) => (a.position < b.position ? -1 : 1) * dir);
    const after = page.after;
    const rest =
      after === undefined
        ? matches
        : matches.filter((m) => (dir > 0 ? m.position > after : m.position < after));
    const kept = rest.slice(0, page.limit);
    const last = kept[kept.length - 1];
    return {
      records: kept.map((m) => m.h),
      positions: kept.map((m) => m.position),
      next: rest.length > page.limit && last ? last.position : undefined,
      examined: heads.length,
      total: matches.length,
    };
  }

  /** The heads of these ids (deleted ones included; missing ones left out). */
  private async heads(org: string, ids: string[]): Promise<VersionRecord[]> {
    const items = await this.batchGet(ids.map((id) => ({ pk: keys.resource(org, id), sk: keys.head })));
    return items.map(recordFromItem);
  }

  /** The items of these keys that exist, in batch reads of 100 (unprocessed keys retried). */
  private async batchGet(all: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < all.length; i += 100) {
      let pending: Record<string, unknown>[] | undefined = all.slice(i, i + 100);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1000)));
        const res = await this.ddb.send(
          new BatchGetCommand({
            RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } },
          }),
        );
        for (const item of res.Responses?.[this.table] ?? []) out.push(item);
        pending = res.UnprocessedKeys?.[this.table]?.Keys as Record<string, unknown>[] | undefined;
        if (attempt > 8 && pending && pending.length > 0) throw new Error('BatchGet kept items unprocessed');
      }
    }
    return out;
  }

  /**
   * Pages through one Query until `limit + 1` records are found (the extra one says whether a
   * next page exists) or the range ends. Limit is sized to what is still missing, so the store
   * examines little beyond the records returned (filters aside); the SDK's paginator keeps one
   * page size for the whole walk, hence the loop of our own here.
   */
  private async collect(
    input: QueryCommandInput,
    sk: string,
    drop: string[],
    limit: number,
    position: (item: Record<string, unknown>) => string,
    /** Drops items of a page the query's conditions cannot express (e.g. `_at`). */
    keep?: (items: Record<string, unknown>[]) => Promise<Record<string, unknown>[]>,
  ): Promise<QueryPage> {
    const items: Record<string, unknown>[] = [];
    let examined = 0;
    let consumed: number | undefined;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new QueryCommand({
          ...input,
          Limit: Math.min(Math.max(limit + 1 - items.length + drop.length, 1), MAX_PAGE),
          ExclusiveStartKey: start,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      examined += out.ScannedCount ?? 0;
      if (out.ConsumedCapacity?.CapacityUnits !== undefined)
        consumed = (consumed ?? 0) + out.ConsumedCapacity.CapacityUnits;
      const page = (out.Items ?? []).filter((item) => !drop.includes(String(item[sk])));
      items.push(...(keep && page.length > 0 ? await keep(page) : page));
      start = out.LastEvaluatedKey;
    } while (start && items.length <= limit);
    const more = items.length > limit;
    const kept = items.slice(0, limit);
    const last = kept[kept.length - 1];
    return {
      records: kept.map(recordFromItem),
      positions: kept.map(position),
      next: more && last ? position(last) : undefined,
      examined,
      ...(consumed !== undefined ? { consumedCapacity: consumed } : {}),
    };
  }
}
