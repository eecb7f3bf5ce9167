import { randomUUID } from 'node:crypto';
import { CliError, parseCommandLine, runCommand, UsageError } from '../clients/cli';

// #14.10: a post-deploy smoke test. One short round trip through the public HTTP contract
// (C10 create, C14 read, C15 vread, C25 search, C22 patch, C23 delete) against any FHIR base,
// one line per step; exit 1 when any step fails.
const USAGE = `usage: npm run -s smoke -- --base URL --token TOKEN

Runs create → read → vread → search → PATCH → delete of one small Binary against a FHIR base
(e.g. {ApiUrl}/organizations/ORG/fhir/4 after npm run deploy) and prints one line per step.
Exit code 0 when every step passes, 1 otherwise.
--base URL     the FHIR base (default: FHIR_BASE)
--token T      a bearer token with system/Binary.* for the base's organization (default: FHIR_TOKEN)
-h, --help     this text`;

interface Step {
  name: string;
  /** Sends the request; returns the response and, when it is not what the contract says, why. */
  run(): Promise<{ status: number; problem?: string; note?: string }>;
}

async function main() {
  const { values } = parseCommandLine({
    options: {
      base: { type: 'string' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const base = (values.base ?? process.env.FHIR_BASE ?? '').replace(/\/+$/, '');
  const token = values.token ?? process.env.FHIR_TOKEN ?? '';
  if (!base) throw new UsageError('give --base URL (or FHIR_BASE).');
  if (!token) throw new UsageError('give --token TOKEN (or FHIR_TOKEN).');

  const call = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  const text = `fhir-binary smoke ${randomUUID()}\n`;
  let id = '';
  const expect = (res: Response, status: number) =>
    res.status === status
      ? undefined
      : `expected ${status}: ${(res.headers.get('content-type') ?? '').split(';')[0]}`;
  const needId = () => (id ? undefined : 'no id (create failed)');

  const steps: Step[] = [
    {
      name: 'create',
      run: async () => {
        const res = await call('/Binary', {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: text,
        });
        const m = /\/Binary\/([^/]+)\/_history\/1$/.exec(res.headers.get('location') ?? '');
        if (m?.[1]) id = m[1];
        return {
          status: res.status,
          problem: expect(res, 201) ?? (m ? undefined : 'no Location …/Binary/{id}/_history/1'),
          note: id && `Binary/${id}`,
        };
      },
    },
    {
      name: 'read',
      run: async () => {
        const skip = needId();
        if (skip) return { status: 0, problem: skip };
        const res = await call(`/Binary/${id}`);
        const body = await res.text();
        return {
          status: res.status,
          problem: expect(res, 200) ?? (body === text ? undefined : 'bytes differ'),
        };
      },
    },
    {
      name: 'vread',
      run: async () => {
        const skip = needId();
        if (skip) return { status: 0, problem: skip };
        const res = await call(`/Binary/${id}/_history/1`);
        const body = await res.text();
        return {
          status: res.status,
          problem: expect(res, 200) ?? (body === text ? undefined : 'bytes differ'),
        };
      },
    },
    {
      name: 'search',
      run: async () => {
        const skip = needId();
        if (skip) return { status: 0, problem: skip };
        const res = await call(`/Binary?_id=${encodeURIComponent(id)}`, {
          headers: { accept: 'application/fhir+json' },
        });
        const bundle = (await res.json().catch(() => ({}))) as {
          total?: number;
          entry?: { resource?: { id?: string } }[];
        };
        const found = bundle.entry?.some((e) => e.resource?.id === id);
        return {
          status: res.status,
          problem:
            expect(res, 200) ??
            (bundle.total === 1 && found ? undefined : `total ${bundle.total}, not the new id`),
        };
      },
    },
    {
      name: 'patch',
      run: async () => {
        const skip = needId();
        if (skip) return { status: 0, problem: skip };
        const res = await call(`/Binary/${id}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
          body: JSON.stringify([{ op: 'replace', path: '/contentType', value: 'text/markdown' }]),
        });
        await res.body?.cancel();
        const etag = res.headers.get('etag');
        return {
          status: res.status,
          problem: expect(res, 200) ?? (etag === 'W/"2"' ? undefined : `ETag ${etag}`),
        };
      },
    },
    {
      name: 'delete',
      run: async () => {
        const skip = needId();
        if (skip) return { status: 0, problem: skip };
        const res = await call(`/Binary/${id}`, { method: 'DELETE' });
        await res.body?.cancel();
        const problem = expect(res, 204);
        if (problem) return { status: res.status, problem };
        const after = await call(`/Binary/${id}`);
        await after.body?.cancel();
        return {
          status: res.status,
          problem: after.status === 410 ? undefined : `read after delete: ${after.status}`,
        };
      },
    },
  ];

  let failed = 0;
  for (const step of steps) {
    let r: { status: number; problem?: string; note?: string };
    try {
      r = await step.run();
    } catch (e) {
      r = { status: 0, problem: (e as { cause?: Error }).cause?.message ?? (e as Error).message };
    }
    if (r.problem) failed++;
    const detail = r.problem ?? r.note ?? '';
    process.stdout.write(
      `${step.name.padEnd(7)} ${String(r.status || '-').padEnd(4)}${r.problem ? 'FAIL' : 'pass'}${detail ? `  ${detail}` : ''}\n`,
    );
  }
  if (failed) throw new CliError(`${failed} of ${steps.length} steps failed against ${base}`);
}

runCommand('smoke', main);
