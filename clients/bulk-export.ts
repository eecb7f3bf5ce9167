import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { saveUrl } from './binary-transfer';

/** One entry of a Bulk Data manifest's `output` or `error`. */
export interface ManifestEntry {
  type: string;
  url: string;
  count?: number;
}

export interface ExportManifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: ManifestEntry[];
  error: ManifestEntry[];
}

export interface BulkExportOptions {
  /** FHIR base of the tenant, `…/organizations/{org}/fhir/4`. */
  base: string;
  token: string;
  /** Only Binaries last updated at or after this FHIR instant (`_since`). */
  since?: string;
  /** Directory the files are written to (created if missing). */
  outDir: string;
  /** Status lines while the export runs and while files download. */
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface BulkExportResult {
  manifest: ExportManifest;
  /** Paths of the files written: `{n}.Binary.ndjson`, and `errors-{n}.ndjson` for `error` entries. */
  files: string[];
  /** Binaries exported in all (the sum of the manifest's counts). */
  count: number;
}

/** An answer of the server that ends the export, with its OperationOutcome diagnostics. */
export class BulkExportError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'BulkExportError';
  }
}

async function failure(res: Response, what: string): Promise<BulkExportError> {
  let detail = '';
  try {
    const body = (await res.json()) as { issue?: { diagnostics?: string }[]; message?: string };
    detail = body.issue?.[0]?.diagnostics ?? body.message ?? '';
  } catch {
    // not JSON
  }
  return new BulkExportError(`${what}: HTTP ${res.status}${detail ? `: ${detail}` : ''}`, res.status);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });

/**
 * C35 from the client's side: kick-off, poll the status URL (honouring Retry-After), then
 * download every file of the manifest (saveUrl: node:http streaming, a 307 of a large file
 * followed without the bearer token).
 */
export async function runBulkExport(o: BulkExportOptions): Promise<BulkExportResult> {
  const auth = { authorization: `Bearer ${o.token}` };
  const query = o.since ? `?_since=${encodeURIComponent(o.since)}` : '';
  const kick = await fetch(`${o.base}/Binary/$export${query}`, {
    headers: { ...auth, prefer: 'respond-async', accept: 'application/fhir+json' },
    signal: o.signal,
  });
  if (kick.status !== 202) throw await failure(kick, 'export kick-off');
  const statusUrl = kick.headers.get('content-location');
  if (!statusUrl) throw new BulkExportError('export kick-off: no Content-Location in the 202');
  o.onProgress?.(`export started: ${statusUrl}`);

  let manifest: ExportManifest | undefined;
  while (!manifest) {
    const res = await fetch(statusUrl, { headers: auth, signal: o.signal });
    if (res.status === 200) {
      manifest = (await res.json()) as ExportManifest;
    } else if (res.status === 202) {
      o.onProgress?.(`exporting: ${res.headers.get('x-progress') ?? '…'}`);
      const wait = Number(res.headers.get('retry-after') ?? '2');
      await sleep(Math.min(Math.max(Number.isFinite(wait) ? wait : 2, 1), 30) * 1000, o.signal);
    } else {
      throw await failure(res, 'export status');
    }
  }

  await mkdir(o.outDir, { recursive: true });
  const files: string[] = [];
  const entries = [
    ...manifest.output.map((e, i) => ({ e, name: `${i + 1}.${e.type}.ndjson` })),
    ...manifest.error.map((e, i) => ({ e, name: `errors-${i + 1}.ndjson` })),
  ];
  for (const [i, { e, name }] of entries.entries()) {
    o.onProgress?.(`downloading ${i + 1}/${entries.length}: ${name}`);
    const file = path.join(o.outDir, name);
    await saveUrl(e.url, o.token, file, { what: `Downloading ${e.url}`, signal: o.signal });
    files.push(file);
  }
  const count = manifest.output.reduce((n, e) => n + (e.count ?? 0), 0);
  return { manifest, files, count };
}
