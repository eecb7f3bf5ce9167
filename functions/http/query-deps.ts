import { DynamoVersionQueries } from '../adapters/dynamo-queries';
import type { FhirRequest, FhirResponse } from '../core/http';
import type { QueryDeps, VersionQueries } from '../core/queries';
import type { AppDeps } from './deps';
import type { Operation } from './handler';

let cached: VersionQueries | undefined;

/** Adds the query adapter (history, search) to the shared deps, built once per container. */
export function withQueries(op: (req: FhirRequest, deps: QueryDeps) => Promise<FhirResponse>): Operation {
  return (req: FhirRequest, deps: AppDeps) => {
    cached ??= new DynamoVersionQueries(deps.clients.ddb, deps.appConfig.tableName);
    return op(req, { ...deps, queries: cached });
  };
}
