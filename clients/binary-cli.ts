import { basename } from 'node:path';
import { mintToken } from '../local/dev-auth';
import { downloadFile, type Progress, TransferError, uploadFile } from './binary-transfer';
import { BulkExportError, runBulkExport } from './bulk-export';
import { CliError, callerPath, localBase, parseCommandLine, runCommand, UsageError } from './cli';

// C37: `npm run -s binary -- upload FILE [--org ORG | --base URL --token T] [--id ID] [--content-type T]`
//      `npm run -s binary -- download ID [--org ORG | --base URL --token T] [-o FILE]`
// C35: `npm run -s binary -- export [--org ORG | --base URL --token T] [--since INSTANT] [-o DIR]`
const USAGE = `usage:
  npm run -s binary -- upload FILE --org ORG [--id ID] [--content-type TYPE] [--part-size BYTES] [--parallel N] [--no-sha256]
  npm run -s binary -- download ID --org ORG [-o FILE]
  npm run -s binary -- export --org ORG [--since INSTANT] [-o DIR]

upload    sends FILE through $upload (presigned parts straight to S3, in parallel) and prints the
          new version's Location; run the same command again after an interruption to resume.
download  writes the Binary's bytes to FILE (default: ID), following a 307 to S3.
export    bulk-exports every current Binary of the organization ($export): kicks off, shows the
          progress, writes each ndjson file of the manifest to DIR (default: export) and prints
          their paths.

--org ORG          that organization on the local server \`npm start\` runs (it records its address
                   in .local/endpoint.json), with a dev token
--base URL         another FHIR base, .../organizations/ORG/fhir/4 (or FHIR_BASE)
--token JWT        the bearer token for --base (or FHIR_TOKEN)
--id ID            upload a new version of ID (or create it with that id)
--content-type T   the file's MIME type (default: from its extension)
--part-size BYTES  bytes per part, at least 5 MiB (default: the server's choice)
--parallel N       parts in flight (default 4)
--no-sha256        do not declare the file's SHA-256 (the server then checks only the size)
--since INSTANT    export only Binaries last updated at or after it (a FHIR instant)
-o FILE            where download writes (export: the directory)
-h, --help         this text
Paths are relative to the directory you run the command in.`;

const MiB = 1024 * 1024;
const fmt = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
const secs = (s: number) =>
  !Number.isFinite(s)
    ? '--'
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
      : `${Math.round(s)}s`;

/**
 * A progress display on a terminal (nothing when stderr is not a TTY): a bar with throughput and
 * ETA while hashing, uploading or downloading; then, while the server assembles and verifies the
 * upload, "completing" with the seconds it has taken so far.
 */
function progressBar(label: string): ((p: Progress) => void) & { end(ok?: boolean): void } {
  const tty = process.stderr.isTTY === true;
  let phase: Progress['phase'] | undefined;
  let started = Date.now();
  let first = 0;
  let last = 0;
  let ticker: NodeJS.Timeout | undefined;
  let lastP: Progress | undefined;
  const draw = (p: Progress, force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const elapsed = (now - started) / 1000;
    if (p.phase === 'completing') {
      process.stderr.write(
        `\r${label} completing: the server assembles and verifies ${fmt(p.total)}… ${secs(elapsed)}\x1b[K`,
      );
      return;
    }
    const rate = elapsed > 0 ? (p.done - first) / elapsed : 0;
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const width = Math.max(10, Math.min(40, (process.stderr.columns ?? 80) - 70));
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '-');
    const eta = rate > 0 ? (p.total - p.done) / rate : Number.POSITIVE_INFINITY;
    process.stderr.write(
      `\r${label} ${p.phase.padEnd(9)} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${fmt(p.done)}/${fmt(p.total)} ${fmt(rate)}/s ETA ${secs(eta)}\x1b[K`,
    );
  };
  const f = (p: Progress) => {
    if (p.phase !== phase) {
      if (lastP && tty) {
        draw(lastP, true);
        process.stderr.write('\n');
      }
      phase = p.phase;
      started = Date.now();
      first = p.done;
      clearInterval(ticker);
      // Completion sends no progress of its own: count the seconds until it answers.
      if (p.phase === 'completing' && tty) ticker = setInterval(() => draw(p, true), 1000);
    }
    lastP = p;
    draw(p, p.phase === 'completing');
  };
  f.end = (ok = true) => {
    clearInterval(ticker);
    if (tty && lastP) {
      if (ok) draw(lastP, true);
      process.stderr.write('\n');
    }
    lastP = undefined;
  };
  return f;
}

async function main() {
  const { values, positionals } = parseCommandLine({
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
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [command, target] = positionals;
  if (command !== 'upload' && command !== 'download' && command !== 'export')
    throw new UsageError(
      command
        ? `unknown command "${command}": use upload, download or export.`
        : 'give a command: upload, download or export.',
    );
  const arity = command === 'export' ? 1 : 2;
  if (!target && arity === 2)
    throw new UsageError(command === 'upload' ? 'give the FILE to upload.' : 'give the ID to download.');
  if (positionals.length > arity) throw new UsageError(`unexpected argument "${positionals[arity]}".`);

  let base = values.base ?? process.env.FHIR_BASE;
  let token = values.token ?? process.env.FHIR_TOKEN;
  if (!base) {
    if (!values.org) throw new UsageError('give --org ORG (the local server) or --base URL (or FHIR_BASE).');
    base = localBase(values.org);
    token ??= await mintToken({ organizations: [values.org] });
  }
  if (!token) throw new UsageError('give --token (or FHIR_TOKEN) with --base.');
  base = base.replace(/\/+$/, '');
  server = base;

  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new UsageError(`${name} must be a positive integer, got "${v}".`);
    return n;
  };
  const partSize = num(values['part-size'], '--part-size');
  const concurrency = num(values.parallel, '--parallel');

  if (command === 'export') {
    try {
      const r = await runBulkExport({
        base,
        token,
        since: values.since,
        outDir: callerPath(values.o ?? 'export'),
        signal: controller.signal,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stderr.write(`${r.count} Binaries in ${r.manifest.output.length} files\n`);
      for (const f of r.files) process.stdout.write(`${f}\n`);
      if (r.manifest.error.length > 0)
        throw new CliError(`the export reported errors: see ${r.files.at(-1)}`);
      return;
    } catch (e) {
      if (controller.signal.aborted) throw new CliError('interrupted.', 130);
      if (e instanceof BulkExportError || e instanceof TransferError) throw new CliError(e.message);
      throw e;
    }
  }
  const file = target!;
  const bar = progressBar(command);
  try {
    if (command === 'upload') {
      const r = await uploadFile({
        base,
        token,
        file: callerPath(file),
        id: values.id,
        contentType: values['content-type'],
        partSize,
        concurrency,
        sha256: !values['no-sha256'],
        signal: controller.signal,
        onProgress: bar,
      });
      bar.end();
      if (r.resumed) process.stderr.write(`resumed: uploaded ${r.uploadedParts} of ${r.totalParts} parts\n`);
      process.stdout.write(`${r.location}\n`);
    } else {
      const r = await downloadFile({
        base,
        token,
        id: file,
        out: callerPath(values.o ?? basename(file)),
        signal: controller.signal,
        onProgress: bar,
      });
      bar.end();
      if (process.stderr.isTTY) process.stderr.write(`${r.file}: ${r.bytes} bytes\n`);
    }
  } catch (e) {
    bar.end(false);
    if (controller.signal.aborted)
      throw new CliError(
        command === 'upload'
          ? 'interrupted; run the same command again to resume the upload.'
          : 'interrupted.',
        130,
      );
    if (e instanceof TransferError) throw new CliError(e.message);
    throw e;
  }
}

let server: string | undefined;
runCommand('binary', main, () => server);
