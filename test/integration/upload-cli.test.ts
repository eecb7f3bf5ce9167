import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadFile, type Progress, uploadFile } from '../../clients/binary-transfer';
import { freePort } from '../../local/moto';
import { root, run } from '../support/processes';
import { startServer, type TestServer } from '../support/server';

const MiB = 1024 * 1024;
let s: TestServer;
let dir: string;
beforeAll(async () => {
  s = await startServer('cli');
  dir = mkdtempSync(join(tmpdir(), 'binary-cli-'));
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Lines of stderr the CLI wrote, without the runtime's own process warnings. */
const cliLines = (stderr: string) =>
  stderr.split('\n').filter((l) => l.trim() !== '' && !/^\(node:\d+\) |^\(Use `node --trace-/.test(l));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** What `npm run binary` runs (without npm in between): node with the tsx loader. */
const runCli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['--import', 'tsx', 'clients/binary-cli.ts', ...args], {
    env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}`, ...env },
  });

describe('C37 binary CLI', () => {
  test('C37/C29: an upload interrupted after one part resumes and uploads only the missing parts', async () => {
    const file = join(dir, 'resume.bin');
    const bytes = randomBytes(13 * MiB);
    writeFileSync(file, bytes);
    const stateDir = join(dir, 'state');
    const controller = new AbortController();
    const common = { base: s.base, token: s.token, file, partSize: 5 * MiB, stateDir };
    const phases: string[] = [];
    const onProgress = (p: Progress) => {
      if (phases.at(-1) !== p.phase) phases.push(p.phase);
    };
    await expect(
      uploadFile({
        ...common,
        concurrency: 1,
        signal: controller.signal,
        onPart: () => controller.abort(),
        onProgress,
      }),
    ).rejects.toThrow();
    expect(phases).toEqual(['hashing', 'uploading']);

    const put: number[] = [];
    phases.length = 0;
    const r = await uploadFile({ ...common, onPart: (n) => put.push(n), onProgress });
    // Resumed: no hashing again; the server's assembly and verification show as "completing".
    expect(phases).toEqual(['uploading', 'completing']);
    expect(r.resumed).toBe(true);
    expect(r.totalParts).toBe(3);
    expect(r.uploadedParts).toBe(2);
    expect(put.sort()).toEqual([2, 3]);
    expect(r.location).toMatch(new RegExp(`^${s.base}/Binary/[^/]+/_history/1$`));

    const id = /Binary\/([^/]+)\/_history/.exec(r.location)![1]!;
    const out = join(dir, 'resume.out');
    await downloadFile({ base: s.base, token: s.token, id, out });
    expect(sha(readFileSync(out))).toBe(sha(bytes));
  });

  test('C37/C19: the CLI uploads quietly (no TTY), prints the Location, and downloads through the 307', async () => {
    const file = join(dir, 'report.pdf');
    const bytes = randomBytes(11 * MiB + 7);
    writeFileSync(file, bytes);
    const up = await runCli([
      'upload',
      file,
      '--base',
      s.base,
      '--token',
      s.token,
      '--part-size',
      String(5 * MiB),
    ]);
    // Quiet without a TTY (C37): no progress bar and no message of the CLI's own. Warnings the
    // Node runtime itself prints (`(node:PID) …`) are not the CLI's output and are let through.
    expect(up.stderr).not.toContain('\r');
    expect(cliLines(up.stderr)).toEqual([]);
    expect(up.code).toBe(0);
    const location = up.stdout.trim();
    expect(location).toMatch(new RegExp(`^${s.base}/Binary/[^/]+/_history/1$`));
    const id = /Binary\/([^/]+)\/_history/.exec(location)![1]!;

    // The content type was guessed from the extension and stored on the object.
    const head = await s.fetch(`/Binary/${id}`, { redirect: 'manual' });
    expect(head.status).toBe(307);
    expect((await fetch(head.headers.get('location')!)).headers.get('content-type')).toBe('application/pdf');

    const out = join(dir, 'report.out.pdf');
    const down = await runCli(['download', id, '--base', s.base, '--token', s.token, '-o', out]);
    expect(down.code).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(bytes));

    // An update through --id prints the new version's Location.
    const again = await runCli(['upload', file, '--base', s.base, '--token', s.token, '--id', id]);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(`${s.base}/Binary/${id}/_history/2`);
  });

  test('C37: clear errors, one line each and no stack trace: a missing file, a refused start, usage mistakes, no server', async () => {
    const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);
    const missing = await runCli(['upload', join(dir, 'nope.bin'), '--base', s.base, '--token', s.token]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^binary: .*nope\.bin/);
    noStack(missing.stderr);
    const file = join(dir, 'small.bin');
    writeFileSync(file, 'x');
    const bad = await runCli(['upload', file, '--base', s.base, '--token', 'not-a-token']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Starting the upload failed: 401/);
    noStack(bad.stderr);
    const unknown = await runCli(['upload', file, '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^binary: Unknown option '--bogus'.*\nRun with --help for usage\.\n$/s);
    const nobody = `http://127.0.0.1:${await freePort()}/x`; // nothing listens there
    const refused = await runCli(['upload', file, '--base', nobody, '--token', 't']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `binary: cannot reach ${nobody} (ECONNREFUSED): is it running (npm start)?\n`,
    );
    noStack(refused.stderr);
    // No server recorded (none wrote the endpoint file): say how to start one.
    const none = await runCli(['upload', file, '--org', 'demo'], {
      LOCAL_ENDPOINT_FILE: join(dir, 'absent.json'),
    });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no local server is running.*npm start/);
  });

  test('C37: --help prints the usage on stdout', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage:\n.*upload FILE --org ORG/s);
    expect(help.stderr).toBe('');
  });

  test('C37: --org finds the server npm start recorded, and paths are relative to the caller (INIT_CWD)', async () => {
    // What npm start records: the address of the running server, and its (live) process.
    const endpointFile = join(dir, 'endpoint.json');
    writeFileSync(endpointFile, JSON.stringify({ origin: s.origin, pid: process.pid }));
    const work = join(dir, 'caller');
    mkdirSync(work);
    const bytes = randomBytes(6 * MiB);
    writeFileSync(join(work, 'scan.bin'), bytes);
    const env = { LOCAL_ENDPOINT_FILE: endpointFile, INIT_CWD: work };
    const up = await runCli(['upload', 'scan.bin', '--org', s.org], env);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const id = new RegExp(`^${s.base}/Binary/([^/]+)/_history/1$`).exec(up.stdout.trim())![1]!;
    const down = await runCli(['download', id, '--org', s.org, '-o', 'copy.bin'], env);
    expect(down.stderr).toBe('');
    expect(down.code).toBe(0);
    expect(sha(readFileSync(join(work, 'copy.bin')))).toBe(sha(bytes));
  });
});
