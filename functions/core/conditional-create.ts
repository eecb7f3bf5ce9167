import { badRequest, preconditionFailed } from './outcome';
import type { VersionRecord } from './ports';
import type { CurrentCriteria, QueryDeps } from './queries';
import type { FhirRequest, FhirResponse } from './request';
import { header } from './request';
import { versionUrl, writeResponse } from './response';
import { matchesNothing, SEARCH_PARAMS } from './search-params';

/**
 * C10 conditional create (http.html#ccreate): `If-None-Exist` holds search parameters of Binary
 * (C25's `_id`, `_lastUpdated`, `_language`). Anything the server cannot evaluate exactly is a
 * 400, since guessing would create duplicates. Returns undefined without the header.
 */
export function ifNoneExistCriteria(req: FhirRequest): CurrentCriteria | undefined {
  const raw = header(req, 'if-none-exist');
  if (raw === undefined) return undefined;
  // Some clients send the whole search URL (`Binary?…`); the parameters are what counts.
  const query = raw.trim().replace(/^[^?]*\?/, '');
  const params: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) params[k] = [...(params[k] ?? []), v];
  const names = SEARCH_PARAMS.map((p) => p.name);
  if (Object.keys(params).length === 0)
    throw badRequest(
      `If-None-Exist is empty: give search parameters, e.g. If-None-Exist: _id=abc.`,
      'required',
    );
  for (const k of Object.keys(params))
    if (!names.includes(k))
      throw badRequest(
        `If-None-Exist parameter "${k}" is not supported: conditional create takes ${names.join(', ')} without modifiers.`,
        'not-supported',
      );
  const criteria: CurrentCriteria = {};
  for (const p of SEARCH_PARAMS) if (params[p.name] !== undefined) p.parse(params[p.name]!, criteria);
  return criteria;
}

/**
 * 0 matches → undefined (create); 1 → the answer about the existing Binary, 200 without a write;
 * 2 or more → 412 (http.html#ccreate).
 */
export async function existingMatch(
  req: FhirRequest,
  deps: QueryDeps,
  org: string,
  criteria: CurrentCriteria,
  fhirBody: boolean,
): Promise<FhirResponse | undefined> {
  if (matchesNothing(criteria)) return undefined;
  const { records } = await deps.queries.searchCurrent(org, criteria, { order: 'asc', limit: 2 });
  if (records.length === 0) return undefined;
  if (records.length > 1)
    throw preconditionFailed(
      'If-None-Exist matches more than one Binary: make the criteria select at most one (e.g. _id).',
    );
  const existing: VersionRecord = { ...records[0]!, created: false };
  const bytes =
    !fhirBody || existing.size > deps.config.maxInlineBytes
      ? ('absent' as const)
      : existing.size > 0 && existing.blobKey
        ? await deps.blobs.get(existing.blobKey)
        : new Uint8Array(0);
  const res = writeResponse(req, existing, bytes, fhirBody);
  return { ...res, headers: { ...res.headers, Location: versionUrl(req, existing) } };
}
