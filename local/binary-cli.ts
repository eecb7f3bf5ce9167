import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BulkExportError, runBulkExport } from '../clients/bulk-export';
import { downloadFile, type Progress, TransferError, uploadFile } from './binary-transfer';
import { mintToken } from './dev-auth';

// C37: `npm run -s binary -- upload FILE --org ORG [--id ID] [--content-type T]`
//      `npm run -s binary -- download ID --org ORG [-o FILE]`
// C35: `npm run -s binary -- export --org ORG [--since INSTANT] [-o DIR]`
const USAGE = `usage:
  npm run -s binary -- upload FILE --org ORG [--id ID] [--content-type TYPE] [--part-size BYTES] [--parallel N] [--no-sha256]
  npm run -s binary -- download ID --org ORG [-o FILE]
  npm run -s binary -- export --org ORG [--since INSTANT] [-o DIR]   (bulk export: every current Binary as ndjson files in DIR, default ./export)
The FHIR base and token come from --base/--token or FHIR_BASE/FHIR_TOKEN; without a base, --org
addresses that organization on the local server (npm start, http://127.0.0.1:\${PORT:-8080}) with a dev token.
An interrupted upload resumes when the same command runs again.`;

function fail(msg: string, code = 1): never {
  process.stderr.write(`binary: ${msg}\n`);
  process.exit(code);
}

const MiB = 1024 * 1024;
const fmt = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
const secs = (s: number) =>
  !Number.isFinite(s)
    ? '--'
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
      : `${Math.round(s)}s`;

/** A progress bar with throughput and ETA on a terminal; nothing when stderr is not a TTY. */
function progressBar(label: string): ((p: Progress) => void) & { end(): void } {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let first: number | undefined;
  let last = 0;
  const draw = (p: Progress, force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    first ??= p.done;
    const elapsed = (now - started) / 1000;
    const rate = elapsed > 0 ? (p.done - first) / elapsed : 0;
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const width = Math.max(10, Math.min(40, (process.stderr.columns ?? 80) - 60));
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '-');
    const eta = rate > 0 ? (p.total - p.done) / rate : Number.POSITIVE_INFINITY;
    process.stderr.write(
      `\r${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${fmt(p.done)}/${fmt(p.total)} ${fmt(rate)}/s ETA ${secs(eta)}  `,
    );
  };
  let lastP: Progress | undefined;
  const f = (p: Progress) => {
    lastP = p;
    draw(p);
  };
  f.end = () => {
    if (tty && lastP) {
      draw(lastP, true);
      process.stderr.write('\n');
    }
  };
  return f;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      org: { type: 'string' },
      id: { type: 'string' },
      'content-type': { type: 'string' },
      'part-size': { type: 'string' },
      parallel: { type: 'string' },
      'no-sha256': { type: 'boolean' },
      base: { type: 'string' },
      token: { type: 'string' },
      o: { type: 'string', short: 'o' },
      since: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, target] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const exporting = command === 'export' && positionals.length === 1;
  if (!exporting && ((command !== 'upload' && command !== 'download') || !target || positionals.length > 2))
    fail(USAGE, 2);

  let base = values.base ?? process.env.FHIR_BASE;
  let token = values.token ?? process.env.FHIR_TOKEN;
  if (!base) {
    if (!values.org) fail('give --org ORG (local server) or --base/FHIR_BASE.', 2);
    base = `http://127.0.0.1:${process.env.PORT ?? 8080}/organizations/${values.org}/fhir/4`;
    token ??= await mintToken({ organizations: [values.org] });
  }
  if (!token) fail('give --token or FHIR_TOKEN for a remote base.', 2);
  base = base.replace(/\/+$/, '');

  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0) fail(`${name} must be a positive integer.`, 2);
    return n;
  };

  try {
    if (exporting) {
      const outDir = path.resolve(process.env.INIT_CWD ?? process.cwd(), values.o ?? 'export');
      const r = await runBulkExport({
        base,
        token,
        since: values.since,
        outDir,
        signal: controller.signal,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stderr.write(`${r.count} Binaries in ${r.manifest.output.length} files\n`);
      for (const f of r.files) process.stdout.write(`${f}\n`);
      if (r.manifest.error.length > 0) fail(`the export reported errors: see ${r.files.at(-1)}`);
    } else if (command === 'upload') {
      const bar = progressBar('upload');
      const r = await uploadFile({
        base,
        token,
        file: target!,
        id: values.id,
        contentType: values['content-type'],
        partSize: num(values['part-size'], '--part-size'),
        concurrency: num(values.parallel, '--parallel'),
        sha256: !values['no-sha256'],
        signal: controller.signal,
        onProgress: bar,
      });
      bar.end();
      if (r.resumed) process.stderr.write(`resumed: uploaded ${r.uploadedParts} of ${r.totalParts} parts\n`);
      process.stdout.write(`${r.location}\n`);
    } else {
      const bar = progressBar('download');
      const r = await downloadFile({
        base,
        token,
        id: target!,
        out: values.o,
        signal: controller.signal,
        onProgress: bar,
      });
      bar.end();
      if (process.stderr.isTTY) process.stderr.write(`${r.file}: ${r.bytes} bytes\n`);
    }
  } catch (e) {
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (controller.signal.aborted)
      fail(
        command === 'upload'
          ? 'interrupted; run the same command again to resume the upload.'
          : 'interrupted.',
        130,
      );
    if (e instanceof TransferError || e instanceof BulkExportError) fail(e.message);
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    if (cause === 'ECONNREFUSED') fail(`cannot reach ${base}: is the server running (npm start)?`);
    if ((e as { code?: string }).code === 'ENOENT') fail(`${(e as Error).message}`);
    fail((e as Error).message);
  }
}

void main();
