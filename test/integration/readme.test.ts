import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../local/moto';
import { projectRoot } from '../../local/paths';
import { readmeScript } from '../support/readme';

/**
 * #10 item 8: a newcomer follows the README top to bottom. Its shell examples run in order, as
 * written, against a fresh `npm start` (its own moto, as a user gets it), in a folder inside the
 * repository; every annotated status (`# → 201`) is checked and no other curl may answer 4xx/5xx.
 */
const root = projectRoot();
// A fresh npm start: not the run's shared moto or table.
const {
  AWS_ENDPOINT_URL: _e,
  TABLE_NAME: _t,
  TABLE_STREAM_ARN: _s,
  TOPIC_ARN: _a,
  BUCKET_NAME: _b,
  INIT_CWD: _c,
  ...env
} = process.env;

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { child, output: () => out };
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise<number | null>((r) => c.once('exit', r));

test('the README explains every skipped example, and annotates statuses', () => {
  const r = readmeScript(readFileSync(join(root, 'README.md'), 'utf8'));
  expect(r.blocks.length).toBeGreaterThanOrEqual(8);
  expect(r.checks).toBeGreaterThanOrEqual(10);
  for (const s of r.skipped) expect(s.reason.length).toBeGreaterThan(10);
});

test('the README examples run in order against a fresh npm start', async () => {
  const { script } = readmeScript(readFileSync(join(root, 'README.md'), 'utf8'));
  mkdirSync(join(root, '.local'), { recursive: true });
  const work = mkdtempSync(join(root, '.local', 'readme-'));
  const port = await freePort();
  const common = { ...env, PORT: String(port), LOCAL_ENDPOINT_FILE: join(work, 'endpoint.json') };
  const server = run('npm', ['start'], { cwd: root, env: common });
  try {
    const deadline = Date.now() + 90_000;
    while (!server.output().includes('Ctrl-C stops')) {
      if (server.child.exitCode !== null) throw new Error(`npm start exited:\n${server.output()}`);
      if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const shell = run('bash', ['-c', script], { cwd: work, env: common });
    const code = await exited(shell.child);
    if (code !== 0) {
      // The output ends with the README line of the command that failed.
      throw new Error(`README examples failed (exit ${code}):
${shell.output().slice(-4000)}`);
    }
  } finally {
    server.child.kill('SIGTERM');
    await exited(server.child);
    rmSync(work, { recursive: true, force: true });
  }
}, 300_000);
