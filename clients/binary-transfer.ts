import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { open, rename, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  UploadStartDocument,
  UploadStartRequest,
  UploadStatusDocument,
} from '../functions/core/upload-api';
import { projectRoot } from '../local/paths';

/**
 * The client side of `$upload` (C28–C30) and large reads (C19), used by the `binary` CLI (C37)
 * and the benchmark: parallel part PUTs straight to S3, resume through the status call, and
 * downloads that follow the 307 without sending the token to S3.
 */

export class TransferError extends Error {
  override name = 'TransferError';
}

/**
 * Where a transfer is: `hashing` the file (for the declared sha256), `uploading` its parts,
 * `completing` (the server assembles the parts and checks size and sha256, which takes a while for
 * large files), or `downloading`; `done` of `total` bytes.
 */
export interface Progress {
  phase: 'hashing' | 'uploading' | 'completing' | 'downloading';
  done: number;
  total: number;
}

export interface UploadOptions {
  /** FHIR base: `.../organizations/{org}/fhir/4`. */
  base: string;
  token: string;
  file: string;
  /** Update (or create) this id; a new server id otherwise. */
  id?: string;
  contentType?: string;
  partSize?: number;
  concurrency?: number;
  /** Declare the file's SHA-256 so the server verifies the whole content (default true). */
  sha256?: boolean;
  /** Where resume state lives (default `.local/uploads`). */
  stateDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Called after each part is stored. */
  onPart?: (partNumber: number) => void;
}

export interface UploadResult {
  location: string;
  /** Parts this run PUT (fewer than all when it resumed). */
  uploadedParts: number;
  totalParts: number;
  resumed: boolean;
}

interface State {
  uploadId: string;
  statusUrl: string;
  completeUrl: string;
  size: number;
  mtimeMs: number;
}

type UploadDoc = UploadStartDocument | UploadStatusDocument;

const CONTENT_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  txt: 'text/plain',
  json: 'application/json',
  xml: 'application/xml',
  zip: 'application/zip',
  dcm: 'application/dicom',
  mp4: 'video/mp4',
  csv: 'text/csv',
  html: 'text/html',
};

export const guessContentType = (file: string) =>
  CONTENT_TYPES[file.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';

/**
 * Reads a response's body to its end. A body left unread keeps its keep-alive connection in the
 * middle of a message, and when the server later closes that idle connection, Node 22's fetch
 * (undici) fails an internal assertion and ends the process (seen with the 307 of a download).
 */
async function drain(res: Response): Promise<void> {
  await res.arrayBuffer().catch(() => undefined);
}

/** Why a FHIR request failed, from its OperationOutcome when it has one. */
async function failure(res: Response, what: string, text?: string): Promise<TransferError> {
  let why = `${res.status} ${res.statusText}`;
  try {
    const body = JSON.parse(text ?? (await res.text())) as {
      issue?: { diagnostics?: string }[];
      message?: string;
    };
    // An OperationOutcome from a function, or API Gateway's own {"message": …} (C40).
    const d =
      body.issue
        ?.map((i) => i.diagnostics)
        .filter(Boolean)
        .join('; ') ?? body.message;
    if (d) why = `${res.status}: ${d}`;
  } catch {
    // not JSON
  }
  return new TransferError(`${what} failed: ${why}`);
}

function stateFile(o: UploadOptions): string {
  const key = createHash('sha256')
    .update(`${o.base}\n${o.id ?? ''}\n${resolve(o.file)}`)
    .digest('hex')
    .slice(0, 24);
  return join(o.stateDir ?? join(projectRoot(), '.local', 'uploads'), `${key}.json`);
}

async function sha256File(
  file: string,
  size: number,
  signal?: AbortSignal,
  onProgress?: (p: Progress) => void,
): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  for await (const chunk of createReadStream(file, {
    highWaterMark: 1024 * 1024,
    signal,
  }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    done += chunk.length;
    onProgress?.({ phase: 'hashing', done, total: size });
  }
  return hash.digest('base64');
}

export async function uploadFile(o: UploadOptions): Promise<UploadResult> {
  const stat = statSync(o.file);
  if (!stat.isFile()) throw new TransferError(`${o.file} is not a file.`);
  const size = stat.size;
  const auth = { authorization: `Bearer ${o.token}` };
  const statePath = stateFile(o);

  let doc: UploadDoc | undefined;
  let state: State | undefined;
  if (existsSync(statePath)) {
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as State;
    if (saved.size === size && saved.mtimeMs === stat.mtimeMs) {
      const res = await fetch(saved.statusUrl, { headers: auth, signal: o.signal });
      if (res.ok) {
        doc = (await res.json()) as UploadDoc;
        state = saved;
      } else await drain(res);
      // 404: expired or finished elsewhere; start over.
    }
  }
  const resumed = doc !== undefined;
  if (!doc) {
    const sha256 = o.sha256 === false ? undefined : await sha256File(o.file, size, o.signal, o.onProgress);
    const url = o.id ? `${o.base}/Binary/${encodeURIComponent(o.id)}/$upload` : `${o.base}/Binary/$upload`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        contentType: o.contentType ?? guessContentType(o.file),
        size,
        ...(sha256 ? { sha256 } : {}),
        ...(o.partSize ? { partSize: o.partSize } : {}),
      } satisfies UploadStartRequest),
      signal: o.signal,
    });
    if (res.status !== 201) throw await failure(res, 'Starting the upload');
    doc = (await res.json()) as UploadDoc;
    state = {
      uploadId: doc.uploadId,
      statusUrl: res.headers.get('location') ?? doc.abort,
      completeUrl: doc.complete,
      size,
      mtimeMs: stat.mtimeMs,
    };
    mkdirSync(join(statePath, '..'), { recursive: true });
    await writeFile(`${statePath}.tmp`, JSON.stringify(state));
    await rename(`${statePath}.tmp`, statePath);
  }

  const partSize = doc.partSize;
  const totalParts = Math.max(1, Math.ceil(size / partSize));
  let done = ('uploaded' in doc ? doc.uploaded : []).reduce((n, p) => n + p.size, 0);
  o.onProgress?.({ phase: 'uploading', done, total: size });
  const queue = [...doc.parts];
  let uploadedParts = 0;
  const fh = await open(o.file, 'r');
  try {
    const worker = async () => {
      for (let part = queue.shift(); part; part = queue.shift()) {
        o.signal?.throwIfAborted();
        const start = (part.partNumber - 1) * partSize;
        const length = Math.min(partSize, size - start);
        const buf = Buffer.allocUnsafe(length);
        await fh.read(buf, 0, length, start);
        for (let attempt = 1; ; attempt++) {
          try {
            // Only the presigned URL authorizes the PUT: the token never goes to S3.
            const res = await fetch(part.url, { method: 'PUT', body: buf, signal: o.signal });
            await drain(res);
            if (!res.ok) throw new TransferError(`part ${part.partNumber}: S3 answered ${res.status}`);
            break;
          } catch (e) {
            if (o.signal?.aborted || attempt >= 4) throw e;
            await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
          }
        }
        uploadedParts++;
        done += length;
        o.onProgress?.({ phase: 'uploading', done, total: size });
        o.onPart?.(part.partNumber);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 4) }, worker));
  } finally {
    await fh.close();
  }

  o.onProgress?.({ phase: 'completing', done: size, total: size });
  // C30: a completion records its progress; 202 + Retry-After means it is still verifying and
  // continues on the next call, and one cut off by the gateway (502/503/504) resumes the same way.
  const complete = () => fetch(state!.completeUrl, { method: 'POST', headers: auth, signal: o.signal });
  let res = await complete();
  for (let failures = 0; failures < 6; ) {
    if (res.status === 202) {
      const wait = Number(res.headers.get('retry-after') ?? '1');
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 1000 * (Number.isFinite(wait) ? wait : 1)));
    } else if (res.status >= 502 && res.status <= 504) {
      failures++;
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 2000 * failures));
    } else break;
    res = await complete();
  }
  if (res.status !== 201 && res.status !== 200) {
    const text = await res.text();
    // The server keeps the session when a retry can still succeed; so does the state file.
    const retryable = res.status === 412 || res.status >= 500 || text.includes('have not been uploaded');
    if (!retryable) rmSync(statePath, { force: true });
    throw await failure(res, 'Completing the upload', text);
  }
  await drain(res);
  rmSync(statePath, { force: true });
  const vid = /"(\d+)"/.exec(res.headers.get('etag') ?? '')?.[1];
  const location = res.headers.get('location') ?? `${o.base}/Binary/${doc.id}/_history/${vid}`;
  return { location, uploadedParts, totalParts, resumed };
}

export interface DownloadOptions {
  base: string;
  token: string;
  id: string;
  out?: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/**
 * A GET whose body streams through node:http(s). Not fetch: moto closes the connection after each
 * response, and Node 22's fetch (undici) fails an internal assertion and ends the process when
 * such a connection ends while a slow consumer (a file being written) has paused the body.
 */
function get(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { headers, signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** C19: reads the raw bytes, following a 307 to S3 without the token, streaming to the file. */
export async function downloadFile(o: DownloadOptions): Promise<{ file: string; bytes: number }> {
  const file = o.out ?? basename(o.id);
  const bytes = await saveUrl(`${o.base}/Binary/${encodeURIComponent(o.id)}`, o.token, file, {
    what: `Reading Binary/${o.id}`,
    signal: o.signal,
    onProgress: o.onProgress,
  });
  return { file, bytes };
}

/**
 * GETs `url` with the bearer token into `file` (through `file.part`, renamed when whole),
 * following a 307 to a presigned S3 URL without the token. Returns the bytes written.
 */
export async function saveUrl(
  url: string,
  token: string,
  file: string,
  o: { what: string; signal?: AbortSignal; onProgress?: (p: Progress) => void },
): Promise<number> {
  let res = await get(url, { authorization: `Bearer ${token}`, accept: '*/*' }, o.signal);
  if (res.statusCode === 307 || res.statusCode === 302) {
    res.resume();
    res = await get(res.headers.location!, {}, o.signal);
  }
  if (res.statusCode !== 200) {
    const text = Buffer.concat(await res.toArray()).toString('utf8');
    throw await failure(new Response(text, { status: res.statusCode }), o.what, text);
  }
  const total = Number(res.headers['content-length'] ?? 0);
  let done = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      o.onProgress?.({ phase: 'downloading', done, total });
      cb(null, chunk);
    },
  });
  const tmp = `${file}.part`;
  await pipeline(res, count, createWriteStream(tmp), { signal: o.signal });
  await rename(tmp, file);
  return done;
}
