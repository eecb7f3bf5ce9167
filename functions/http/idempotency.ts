import { createHash } from 'node:crypto';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { vreadBinary } from '../core/operations';
import { badRequest, OperationOutcomeError, unprocessable } from '../core/outcome';
import type { FhirRequest, FhirResponse } from '../core/request';
import { logger } from '../logger';
import type { AppDeps } from '../wiring';
import { wiring } from '../wiring';
import { type HttpResult, toHttpResult } from './event';

/** The request header naming a retryable request (IETF draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Answers a replay marks, so a client can tell a replay from a first execution. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

// An sf-string (`"…"`) or a bare token of visible ASCII; 1–255 characters inside.
const KEY = /^[\x21-\x7e]{1,255}$/;
/** Bodies larger than this are not stored with the key: the replay reads the version instead. */
const MAX_STORED_BODY = 256 * 1024;

/** The Idempotency-Key of a request, or undefined; a malformed one → 400 (C41). */
export function idempotencyKey(req: FhirRequest): string | undefined {
  const raw = req.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return undefined;
  const key = /^"(.*)"$/.exec(raw)?.[1] ?? raw;
  if (!KEY.test(key) || key.includes('"'))
    throw badRequest(
      'Idempotency-Key must be 1–255 visible US-ASCII characters, e.g. a UUID (optionally in double quotes).',
      'value',
    );
  return key;
}

/**
 * What a retry must repeat for the key to apply to it: the operation's target and every input
 * that changes what it does. Hashed by Powertools; a different fingerprint under a used key → 422.
 */
function fingerprint(operation: string, req: FhirRequest) {
  const h = (n: string) => req.headers[n] ?? null;
  return {
    operation,
    params: req.params,
    query: req.query,
    body: createHash('sha256').update(req.body).digest('base64'),
    contentType: h('content-type'),
    securityContext: h('x-security-context'),
    ifMatch: h('if-match'),
    prefer: h('prefer'),
    accept: h('accept'),
  };
}

/** The first answer as kept with the key: the result, its body left out when it is large. */
interface Stored {
  result: HttpResult;
  /** Set when the body was left out: the replay reads this version again (C41). */
  version?: { id: string; vid: string };
}

/**
 * C41: runs `op` at most once per tenant and Idempotency-Key (Powertools idempotency on the
 * service table). A retry with the same request gets the first answer, marked
 * `Idempotent-Replayed: true`; the same key with another request → 422; while the first is still
 * running → 409 with Retry-After. A request that fails is not kept, so its retry runs again.
 */
export async function runIdempotent(
  operation: string,
  key: string,
  req: FhirRequest,
  deps: AppDeps,
  context: Context | undefined,
  op: () => Promise<FhirResponse>,
): Promise<{ result: HttpResult; response?: FhirResponse }> {
  const org = req.params.organizationId!;
  let response: FhirResponse | undefined;
  let first: HttpResult | undefined;
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    payloadValidationJmesPath: 'request',
    expiresAfterSeconds: deps.appConfig.idempotencySeconds,
  });
  if (typeof context?.getRemainingTimeInMillis === 'function') config.registerLambdaContext(context);
  const once = makeIdempotent(
    async (_payload: { key: string; request: ReturnType<typeof fingerprint> }): Promise<Stored> => {
      response = await op();
      const result = toHttpResult(req, response);
      first = result;
      const { resourceId, versionId } = response.audit ?? {};
      if ((result.body?.length ?? 0) > MAX_STORED_BODY && resourceId && versionId) {
        const { body: _b, isBase64Encoded: _e, ...rest } = result;
        return { result: rest, version: { id: resourceId, vid: versionId } };
      }
      return { result };
    },
    { persistenceStore: wiring().idempotency(org), config, keyPrefix: 'binary' },
  );
  let stored: Stored;
  try {
    stored = await once({ key, request: fingerprint(operation, req) });
  } catch (e) {
    if (response !== undefined && !(e instanceof OperationOutcomeError)) {
      // The write happened but its answer could not be kept: answer it all the same (a retry
      // gets 409 until the in-progress record expires, then runs again).
      logger.warn('idempotency record not saved', { error: e as Error });
      return { result: toHttpResult(req, response), response };
    }
    if (e instanceof IdempotencyValidationError)
      throw unprocessable(
        'This Idempotency-Key was already used for a different request: send a new key for a new request, ' +
          'or repeat the first request exactly (same method, URL, headers and body) to get its answer.',
        'business-rule',
      );
    if (e instanceof IdempotencyAlreadyInProgressError)
      throw new OperationOutcomeError(
        409,
        'conflict',
        'A request with this Idempotency-Key is still being processed: retry after a second to get its answer.',
        { 'Retry-After': '1' },
      );
    throw e;
  }
  if (response && first) return { result: first, response };
  // A replay: the first answer, with its large body read again from the version it created.
  const result = { ...stored.result, headers: { ...stored.result.headers, [REPLAYED_HEADER]: 'true' } };
  if (stored.version) {
    const again = await vreadBinary(
      {
        ...req,
        method: 'GET',
        params: { organizationId: org, id: stored.version.id, vid: stored.version.vid },
        query: {},
        headers: { accept: 'application/fhir+json' },
        body: new Uint8Array(0),
      },
      deps,
    );
    const body = toHttpResult({ method: 'GET' }, again);
    return { result: { ...result, body: body.body, isBase64Encoded: body.isBase64Encoded } };
  }
  return { result };
}
