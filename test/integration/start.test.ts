import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { MAX_DIRECT_BODY_BYTES } from '../../functions/limits';
import { freePort } from '../../local/moto';
import { projectRoot } from '../../local/paths';
import { expectOutcome, fhirBody } from '../support/fhir';

/**
 * C3 end to end, as a user runs it: `npm start` starts its own moto, prints the base URL, a dev
 * token and a curl example that work, and SIGTERM stops everything, the emulator included.
 */
const root = projectRoot();
// The run's shared moto must not be reused: npm start has to start (and stop) its own.
const { AWS_ENDPOINT_URL: _endpoint, TABLE_NAME: _table, TABLE_STREAM_ARN: _stream, ...env } = process.env;

function waitFor(
  child: ChildProcess,
  out: () => string,
  pattern: RegExp,
  ms: number,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms:\n${out()}`)), ms);
    const check = () => {
      const m = out().match(pattern);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(m);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', () => reject(new Error(`npm start exited early:\n${out()}`)));
  });
}

test('C3: npm start serves the API with a printed token and curl example, and stops cleanly on SIGTERM', async () => {
  const port = await freePort();
  const child = spawn('npm', ['start'], {
    cwd: root,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    await waitFor(child, () => out, /Ctrl-C stops/, 60_000);
    const base = out.match(/Base URL:\s+(\S+)/)![1]!;
    expect(base).toBe(`http://127.0.0.1:${port}/organizations/demo/fhir/4`);
    const moto = out.match(/AWS endpoint:\s+(\S+)/)![1]!;
    const token = out.match(/^(eyJ[\w-]+\.[\w-]+\.[\w-]+)$/m)![1]!;
    expect(out).toContain(`curl -i -X POST ${base}/Binary -H "Authorization: Bearer ${token}"`);
    const created = await fetch(`${base}/Binary`, {
      method: 'POST',
      body: 'hello',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
    });
    expect(created.status).toBe(201);
    // `npm run -s token` prints only a token, accepted by the running server.
    const { stdout } = await promisify(execFile)(
      'npm',
      ['run', '-s', 'token', '--', '--org', 'demo', '--scope', 'system/Binary.read'],
      { cwd: root, env },
    );
    expect(stdout.trim()).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const read = await fetch(created.headers.get('location')!, {
      headers: { authorization: `Bearer ${stdout.trim()}` },
    });
    expect(await read.text()).toBe('hello');

    // C13/C40 through the real process: the direct-write limit holds exactly, and what no route
    // matches gets an OperationOutcome from the $default function.
    const fhir = (size: number) =>
      fetch(`${base}/Binary`, {
        method: 'POST',
        body: fhirBody(size),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      });
    expect((await fhir(MAX_DIRECT_BODY_BYTES)).status).toBe(201);
    const over = await expectOutcome(await fhir(MAX_DIRECT_BODY_BYTES + 1), 413, 'too-long');
    expect(over.issue[0]!.diagnostics).toContain('$upload');
    await expectOutcome(await fetch(base, { method: 'POST', body: '{}' }), 501, 'not-supported');

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(base)).rejects.toThrow();
    await expect(fetch(`${moto}/moto-api/`)).rejects.toThrow();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 90_000);
