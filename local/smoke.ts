import { CliError, parseCommandLine, runCommand, UsageError } from '../clients/cli';
import { e2eSuite, runE2e } from './e2e';

// #14.10 / #9 item 3: the post-deploy smoke test IS the end-to-end suite (local/e2e.ts) that
// `npm test` runs against a real `npm start`: every route and interaction of the contract, one
// line per check; exit 1 when any check fails.
const USAGE = `usage: npm run -s smoke -- --base URL --token TOKEN [--read-token TOKEN]

Runs the end-to-end suite (local/e2e.ts: every route of docs/API.md, its error paths and a
$upload round trip) against a FHIR base, e.g. {ApiUrl}/organizations/ORG/fhir/4 after
npm run deploy, and prints one line per check. It writes small Binaries (and one of about
4 MiB through $upload) and deletes them again at the end; their history stays.
Exit code 0 when every check passes, 1 otherwise.
--base URL          the FHIR base (default: FHIR_BASE)
--token T           a token for the base's organization only, with system/Binary.* (default: FHIR_TOKEN)
--read-token T      a token for the same organization with system/Binary.read only
                    (default: FHIR_READ_TOKEN); without one, the check that needs it is skipped
--list              list the checks and the contract rules they hold, without running them
-h, --help          this text`;

async function main() {
  const { values } = parseCommandLine({
    options: {
      base: { type: 'string' },
      token: { type: 'string' },
      'read-token': { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.list) {
    for (const c of e2eSuite()) process.stdout.write(`${c.rules.join(' ').padEnd(24)} ${c.name}\n`);
    return;
  }
  const base = (values.base ?? process.env.FHIR_BASE ?? '').replace(/\/+$/, '');
  const token = values.token ?? process.env.FHIR_TOKEN ?? '';
  const readToken = values['read-token'] ?? process.env.FHIR_READ_TOKEN ?? '';
  if (!base) throw new UsageError('give --base URL (or FHIR_BASE).');
  if (!token) throw new UsageError('give --token TOKEN (or FHIR_TOKEN).');

  const started = Date.now();
  const results = await runE2e({ base, token, ...(readToken ? { readToken } : {}) }, (r) => {
    const time = `${(r.ms / 1000).toFixed(1)}s`.padStart(6);
    process.stdout.write(
      `${r.outcome === 'fail' ? 'FAIL' : r.outcome} ${time}  ${r.check.name}${r.detail ? `\n       ${r.detail}` : ''}\n`,
    );
  });
  const failed = results.filter((r) => r.outcome === 'fail').length;
  const skipped = results.filter((r) => r.outcome === 'skip').length;
  const summary = `${results.length - failed - skipped} of ${results.length} checks pass (${failed} failing, ${skipped} skipped)`;
  process.stdout.write(`${summary} in ${((Date.now() - started) / 1000).toFixed(1)} s against ${base}\n`);
  if (failed) throw new CliError(`${failed} of ${results.length} checks failed against ${base}`);
}

runCommand('smoke', main);
