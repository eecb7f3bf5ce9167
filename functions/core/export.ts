import type { Parameters } from 'fhir/r4';
import { loadVersionData, toFhir } from './binary';
import type { ExportDeps, ExportFile, ExportJob } from './export-ports';
import { isValidId } from './ids';
import { parseJsonBody } from './json';
import { isFhirJsonType, mediaType } from './media';
import { badRequest, notFound, notSupported, OperationOutcomeError, operationOutcome } from './outcome';
import type { CoreDeps, VersionRecord } from './ports';
import type { QueryDeps, QueryPage } from './queries';
import { type FhirRequest, type FhirResponse, header } from './request';
import { fhirJson } from './response';
import { dateRange } from './search-params';

/*
 * Bulk export of a tenant's current Binaries (C35), after the FHIR Bulk Data Access IG v2
 * (https://hl7.org/fhir/uv/bulkdata/export.html): an asynchronous kick-off, a status URL that
 * answers 202 until the manifest is ready, files of ndjson fetched with `$export-download`.
 *
 * The worker walks the `currentByTenant` index in lastUpdated order, one file at a time. After
 * each file it checkpoints the index position the next file starts from, so an invocation that
 * stops (time out, crash) is followed by one that rewrites only the unfinished file: no line is
 * lost and none is written twice. Versions written after the kick-off are left out
 * (`transactionTime`); a client catches up with `_since`.
 */

export type ExportOperationDeps = QueryDeps & ExportDeps;

/** The ndjson media type of every output file (Bulk Data IG). */
export const NDJSON_CONTENT_TYPE = 'application/fhir+ndjson';
const OUTPUT_FORMATS = new Set([NDJSON_CONTENT_TYPE, 'application/ndjson', 'ndjson']);
/** Kick-off parameters of the IG that this server does not support (400 names them). */
const UNSUPPORTED_PARAMETERS = new Set(['_elements', '_typeFilter', 'patient', 'includeAssociatedData']);
/** How long a tenant's running export holds its lock without the worker renewing it. */
export const EXPORT_LOCK_SECONDS = 3600;
/** Seconds a client is asked to wait between status polls, and after a refused kick-off. */
const RETRY_AFTER_SECONDS = { poll: 2, busy: 60 };
const ERRORS_FILE = 'errors';

const FHIR_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

interface KickoffParameters {
  since?: string;
}

/** The kick-off's parameters: from the query (GET) or a `Parameters` body (POST). */
function kickoffParameters(req: FhirRequest): KickoffParameters {
  const given: [string, string][] = [];
  if (req.method === 'POST' && req.body.length > 0) {
    // The body is a Parameters resource (C35), never a Binary: parseFhirBody would pass it over.
    const ct = header(req, 'content-type');
    if (!isFhirJsonType(ct))
      throw notSupported(
        415,
        `The $export POST body is a Parameters resource as application/fhir+json, not ${mediaType(ct) ?? 'no Content-Type'}.`,
      );
    const json = parseJsonBody(req.body, 'The $export POST body');
    if (json === undefined) throw badRequest('The $export POST body is not valid JSON.', 'structure');
    const body = json.value as Parameters | null;
    if (body === null || typeof body !== 'object' || body.resourceType !== 'Parameters')
      throw badRequest('The $export POST body must be a Parameters resource.', 'structure');
    for (const p of Array.isArray(body.parameter) ? body.parameter : []) {
      const v = p?.valueString ?? p?.valueInstant ?? p?.valueCode ?? p?.valueDateTime;
      if (typeof p?.name !== 'string' || typeof v !== 'string')
        throw badRequest(`Parameter "${p?.name}" needs a string, code or instant value.`, 'value');
      given.push([p.name, v]);
    }
  }
  for (const [name, values] of Object.entries(req.query)) for (const v of values) given.push([name, v]);
  const out: KickoffParameters = {};
  const seen = new Set<string>();
  for (const [name, value] of given) {
    if (seen.has(name) && name !== '_type')
      throw badRequest(`${name} is given twice: give it once.`, 'value');
    seen.add(name);
    if (name === '_outputFormat') {
      if (!OUTPUT_FORMATS.has(value))
        throw badRequest(
          `_outputFormat=${value} is not supported: use application/fhir+ndjson (or application/ndjson, ndjson).`,
          'not-supported',
        );
    } else if (name === '_type') {
      const other = value.split(',').find((t) => t.trim() !== 'Binary');
      if (other !== undefined)
        throw badRequest(`_type=${other}: this server exports Binary resources only.`, 'not-supported');
    } else if (name === '_since') {
      const r = FHIR_INSTANT.test(value) ? dateRange(value) : undefined;
      if (!r)
        throw badRequest(
          `_since=${value} is not a FHIR instant: use e.g. 2026-01-31T10:00:00Z or 2026-01-31T10:00:00.000+01:00.`,
          'value',
        );
      out.since = r.lo;
    } else if (UNSUPPORTED_PARAMETERS.has(name)) {
      throw badRequest(`${name} is not supported by this server's $export.`, 'not-supported');
    } else {
      throw badRequest(
        `Unknown $export parameter "${name}": use _outputFormat, _since or _type.`,
        'not-supported',
      );
    }
  }
  return out;
}

const statusUrl = (req: FhirRequest, jobId: string) => `${req.baseUrl}/Binary/$export/${jobId}`;
const fileId = (jobId: string, n: number | typeof ERRORS_FILE) => `${jobId}.${n}`;
const fileName = (n: number | typeof ERRORS_FILE) => `${n}.ndjson`;
const downloadUrl = (req: FhirRequest, jobId: string, n: number | typeof ERRORS_FILE) =>
  `${req.baseUrl}/Binary/${fileId(jobId, n)}/$export-download`;

/** `GET|POST [base]/Binary/$export` (C35): 202 with the status URL, or 429 while one runs. */
export async function exportKickoff(req: FhirRequest, deps: ExportOperationDeps): Promise<FhirResponse> {
  if (!/(?:^|[;,\s])respond-async(?:$|[;,\s])/i.test(header(req, 'prefer') ?? ''))
    throw badRequest('$export is asynchronous: send Prefer: respond-async.', 'required');
  const accept = header(req, 'accept');
  if (accept !== undefined && !/(^|[,\s])(application\/fhir\+json|application\/json|\*\/\*)/i.test(accept))
    throw badRequest('$export answers with application/fhir+json: send Accept: application/fhir+json.');
  const params = kickoffParameters(req);
  const now = clock(deps);
  const org = req.params.organizationId!;
  const jobId = (deps.newId ?? (() => crypto.randomUUID()))();
  const job: ExportJob = {
    org,
    jobId,
    status: 'running',
    request: requestUrl(req),
    transactionTime: now.toISOString(),
    files: [],
    expiresAt: Math.floor(now.getTime() / 1000) + EXPORT_LOCK_SECONDS + deps.exportConfig.retentionSeconds,
    ...(params.since ? { since: params.since } : {}),
  };
  if (!(await deps.exportJobs.start(job, EXPORT_LOCK_SECONDS))) {
    throw new OperationOutcomeError(
      429,
      'throttled',
      'An export of this organization is already running: poll its status URL, cancel it, or retry later.',
      { 'Retry-After': String(RETRY_AFTER_SECONDS.busy) },
    );
  }
  try {
    await deps.exportScheduler.schedule(org, jobId);
  } catch (e) {
    await deps.exportJobs.remove(org, jobId);
    throw e;
  }
  return fhirJson(
    202,
    operationOutcome(
      'information',
      'informational',
      `Export ${jobId} started; poll the Content-Location URL.`,
    ),
    { 'Content-Location': statusUrl(req, jobId) },
  );
}

function requestUrl(req: FhirRequest): string {
  const qs = Object.entries(req.query)
    .flatMap(([k, vs]) => vs.map((v) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join('&');
  return `${req.baseUrl}/Binary/$export${qs ? `?${qs}` : ''}`;
}

async function liveJob(req: FhirRequest, deps: ExportOperationDeps, jobId: string): Promise<ExportJob> {
  const job = isValidId(jobId) ? await deps.exportJobs.get(req.params.organizationId!, jobId) : undefined;
  const now = clock(deps).getTime() / 1000;
  if (!job || job.expiresAt <= now)
    throw notFound(`No export ${jobId} in this organization (it may have expired or been cancelled).`);
  return job;
}

/** `GET [base]/Binary/$export/{jobId}`: 202 with X-Progress while it runs, then the manifest. */
export async function exportStatus(req: FhirRequest, deps: ExportOperationDeps): Promise<FhirResponse> {
  const job = await liveJob(req, deps, req.params.jobId ?? '');
  const exported = job.files.reduce((n, f) => n + f.count, 0);
  if (job.status === 'running') {
    return {
      status: 202,
      headers: {
        'X-Progress': `${exported} Binaries in ${job.files.length} files`,
        'Retry-After': String(RETRY_AFTER_SECONDS.poll),
      },
    };
  }
  const manifest = {
    transactionTime: job.transactionTime,
    request: job.request,
    requiresAccessToken: true,
    output: job.files.map((f: ExportFile) => ({
      type: 'Binary',
      url: downloadUrl(req, job.jobId, f.n),
      count: f.count,
    })),
    error:
      job.status === 'failed'
        ? [{ type: 'OperationOutcome', url: downloadUrl(req, job.jobId, ERRORS_FILE) }]
        : [],
  };
  return {
    status: 200,
    headers: {
      'Content-Type': 'application/json',
      Expires: new Date(job.expiresAt * 1000).toUTCString(),
    },
    json: manifest,
  };
}

/** `DELETE [base]/Binary/$export/{jobId}`: 202; the job and its files are gone. */
export async function exportCancel(req: FhirRequest, deps: ExportOperationDeps): Promise<FhirResponse> {
  const job = await liveJob(req, deps, req.params.jobId ?? '');
  await deps.exportJobs.remove(job.org, job.jobId);
  await deps.exportFiles.removeAll(job.org, job.jobId);
  return fhirJson(202, operationOutcome('information', 'informational', `Export ${job.jobId} cancelled.`));
}

/** `GET [base]/Binary/{fileId}/$export-download`: one output file of a finished export. */
export async function exportDownload(req: FhirRequest, deps: ExportOperationDeps): Promise<FhirResponse> {
  const id = req.params.id ?? '';
  const dot = id.lastIndexOf('.');
  const [jobId, part] = dot < 0 ? [id, ''] : [id.slice(0, dot), id.slice(dot + 1)];
  const missing = () => notFound(`No export file ${id} in this organization (it may have expired).`);
  const job = await liveJob(req, deps, jobId).catch(() => {
    throw missing();
  });
  const listed = part === ERRORS_FILE ? job.status === 'failed' : job.files.some((f) => String(f.n) === part);
  if (!listed) throw missing();
  const name = fileName(part === ERRORS_FILE ? ERRORS_FILE : Number(part));
  const size = await deps.exportFiles.size(job.org, jobId, name);
  if (size === undefined) throw missing();
  const audit = { resourceId: id, bytes: size };
  // The same inline limit as raw reads (C19): larger files redirect to a presigned URL.
  if (size > deps.config.maxInlineBytes) {
    const url = await deps.exportFiles.presignGet(job.org, jobId, name, deps.config.presignGetSeconds);
    return { status: 307, headers: { Location: url, 'Cache-Control': 'no-store' }, audit };
  }
  return {
    status: 200,
    headers: { 'Content-Type': NDJSON_CONTENT_TYPE, 'Cache-Control': 'no-store' },
    bytes: await deps.exportFiles.read(job.org, jobId, name),
    audit,
  };
}

/** What one worker invocation achieved. */
export type ExportRunResult = 'done' | 'more' | 'gone';

/** Records loaded at once while a file is written (the bytes of up to this many Binaries). */
const LOAD_AHEAD = 8;

/**
 * One worker invocation: writes files until the export is done or fewer than `marginMs` remain
 * (`remainingMs` is the invocation's clock). Returns 'more' when another invocation must go on.
 */
export async function runExport(
  org: string,
  jobId: string,
  deps: ExportOperationDeps,
  remainingMs: () => number,
): Promise<ExportRunResult> {
  const job = await deps.exportJobs.get(org, jobId);
  if (job?.status !== 'running') return 'gone';
  const { fileBytes, pageSize, marginMs } = deps.exportConfig;
  // Only versions written up to the kick-off: an exclusive bound one millisecond after it.
  const before = new Date(Date.parse(job.transactionTime) + 1).toISOString();
  const walk = new IndexWalk(
    (after) =>
      deps.queries.searchCurrent(
        org,
        { ...(job.since ? { since: job.since } : {}), before },
        { after, order: 'asc', limit: pageSize },
      ),
    job.cursor,
  );
  let cursor = job.cursor;
  const files = [...job.files];
  while (remainingMs() >= marginMs) {
    const n = files.length + 1;
    const writer = deps.exportFiles.open(org, jobId, fileName(n));
    let count = 0;
    let bytes = 0;
    let exhausted = false;
    let fileCursor = cursor;
    try {
      fill: while (bytes < fileBytes && remainingMs() >= marginMs) {
        const chunk = await walk.take(LOAD_AHEAD);
        if (chunk.length === 0) {
          exhausted = true;
          break;
        }
        const lines = await Promise.all(chunk.map((e) => ndjsonLine(e.record, deps)));
        for (const [i, line] of lines.entries()) {
          await writer.write(line);
          count++;
          bytes += Buffer.byteLength(line);
          fileCursor = chunk[i]!.position;
          if (bytes >= fileBytes || remainingMs() < marginMs) {
            walk.putBack(chunk.slice(i + 1));
            break fill;
          }
        }
      }
      if (count > 0) await writer.finish();
      else await writer.abort();
    } catch (e) {
      await writer.abort().catch(() => undefined);
      throw e;
    }
    if (count > 0) files.push({ n, count, bytes });
    cursor = fileCursor;
    const next: ExportJob = { ...job, cursor, files };
    if (exhausted) {
      next.status = 'complete';
      next.expiresAt = epochSeconds(deps) + deps.exportConfig.retentionSeconds;
    }
    if (!(await deps.exportJobs.checkpoint(next, EXPORT_LOCK_SECONDS))) {
      // Cancelled while this invocation wrote: leave no file behind.
      await deps.exportFiles.removeAll(org, jobId);
      return 'gone';
    }
    if (exhausted) return 'done';
  }
  return 'more';
}

interface Positioned {
  record: VersionRecord;
  /** Where the walk continues after this record. */
  position: string;
}

/**
 * The tenant's current Binaries after a position, in index order, read a page at a time: a
 * page that spans two files is read once.
 */
class IndexWalk {
  private buffer: Positioned[] = [];
  private ended = false;

  constructor(
    private readonly page: (after: string | undefined) => Promise<QueryPage>,
    private after: string | undefined,
  ) {}

  /** Up to `k` next records; none once the index range is exhausted. */
  async take(k: number): Promise<Positioned[]> {
    while (this.buffer.length < k && !this.ended) {
      const p = await this.page(this.after);
      if (p.records.length > 0 && p.positions?.length !== p.records.length)
        throw new Error('the query adapter gave no record positions');
      p.records.forEach((record, i) => {
        this.buffer.push({ record, position: p.positions![i]! });
      });
      this.after = this.buffer.at(-1)?.position ?? this.after;
      if (p.next === undefined) this.ended = true;
    }
    return this.buffer.splice(0, k);
  }

  /** Returns records taken but not used, to be taken first next time. */
  putBack(entries: Positioned[]): void {
    this.buffer.unshift(...entries);
  }
}

const clock = (deps: CoreDeps) => (deps.now ?? (() => new Date()))();
const epochSeconds = (deps: CoreDeps) => Math.floor(clock(deps).getTime() / 1000);

/** The ndjson line of one current version: data inline up to 10 MiB, else the C31 extension. */
async function ndjsonLine(record: VersionRecord, deps: CoreDeps): Promise<string> {
  const data = await loadVersionData(record, (key) => deps.blobs.get(key));
  return `${JSON.stringify(toFhir(record, data))}\n`;
}

/** Ends a job that cannot finish: its manifest lists what was written and an error file. */
export async function failExport(
  org: string,
  jobId: string,
  diagnostics: string,
  deps: ExportOperationDeps,
): Promise<void> {
  const job = await deps.exportJobs.get(org, jobId);
  if (job?.status !== 'running') return;
  const writer = deps.exportFiles.open(org, jobId, fileName(ERRORS_FILE));
  await writer.write(`${JSON.stringify(operationOutcome('fatal', 'exception', diagnostics))}\n`);
  await writer.finish();
  const failed: ExportJob = {
    ...job,
    status: 'failed',
    error: diagnostics,
    expiresAt: epochSeconds(deps) + deps.exportConfig.retentionSeconds,
  };
  if (!(await deps.exportJobs.checkpoint(failed, EXPORT_LOCK_SECONDS)))
    await deps.exportFiles.removeAll(org, jobId);
}
