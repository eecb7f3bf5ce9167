import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startServer, type TestServer } from '../support/server';

// #14.10: the post-deploy smoke script, run as `npm run smoke` runs it (node with the tsx loader),
// against a real local server.
let s: TestServer;
beforeAll(async () => {
  s = await startServer('smoke');
});
afterAll(() => s.close());

function runSmoke(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const root = join(__dirname, '..', '..');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/smoke.ts', ...args], {
      cwd: root,
      env: { ...process.env, FHIR_BASE: '', FHIR_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const steps = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/).slice(0, 3));

describe('#14.10 smoke script', () => {
  test('C10/C14/C15/C25/C22/C23: a full round trip passes every step, exit 0, and leaves the Binary deleted', async () => {
    const r = await runSmoke(['--base', s.base, '--token', s.token]);
    expect(steps(r.stdout)).toEqual([
      ['create', '201', 'pass'],
      ['read', '200', 'pass'],
      ['vread', '200', 'pass'],
      ['search', '200', 'pass'],
      ['patch', '200', 'pass'],
      ['delete', '204', 'pass'],
    ]);
    expect(r.code).toBe(0);
    const id = /Binary\/([^\s/]+)/.exec(r.stdout)![1];
    const read = await s.fetch(`/Binary/${id}`);
    expect(read.status).toBe(410);
    const history = (await (await s.fetch(`/Binary/${id}/_history`)).json()) as { total: number };
    expect(history.total).toBe(3);
  });

  test('C2: a token the server rejects fails every step with exit 1', async () => {
    const r = await runSmoke(['--base', s.base, '--token', 'not-a-token']);
    const lines = steps(r.stdout);
    expect(lines[0]).toEqual(['create', '401', 'FAIL']);
    expect(lines.map((l) => l[2])).toEqual(Array(6).fill('FAIL'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/6 of 6 steps failed/);
  });

  test('no base is a usage error (exit 2)', async () => {
    const r = await runSmoke(['--token', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--base/);
  });
});
