import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../local/moto';
import { projectRoot } from '../../local/paths';

/**
 * Programs run as a user runs them (`npm start`, `npm run -s smoke`, the CLIs), one helper for
 * every test that spawns them (#9 item 3).
 */
export const root = projectRoot();

/**
 * The test run's environment without what points at the run's shared moto and its resources, so a
 * spawned `npm start` starts (and stops) its own emulator as it does for a user, and without the
 * INIT_CWD of the `npm test` that started jest.
 */
export function freshEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const {
    AWS_ENDPOINT_URL: _e,
    TABLE_NAME: _t,
    TABLE_STREAM_ARN: _s,
    TOPIC_ARN: _a,
    BUCKET_NAME: _b,
    EXPORT_QUEUE_URL: _q,
    INIT_CWD: _c,
    ...env
  } = process.env;
  return { ...env, ...extra };
}

export interface Spawned {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null after a signal) once the process has exited. */
  exited: Promise<number | null>;
}

/** Spawns a program with its output collected (stdin closed). */
export function spawnCollected(cmd: string, args: string[], opts: SpawnOptions = {}): Spawned {
  const child = spawn(cmd, args, { cwd: root, ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  exited.catch(() => undefined); // awaited by whoever needs it; never an unhandled rejection
  return { child, output: () => out, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs a program to its end: exit code and output. */
export async function run(
  cmd: string,
  args: string[],
  opts: SpawnOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnCollected(cmd, args, opts);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

export interface NpmStart extends Spawned {
  port: number;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** The base URL `npm start` printed (organization `demo`). */
  base: string;
  /** The dev token it printed (organization `demo`, `system/Binary.*`). */
  token: string;
  /** The AWS endpoint (its own moto) it printed. */
  endpoint: string;
  /** The environment it runs with (PORT, LOCAL_ENDPOINT_FILE): give it to the CLIs that find it. */
  env: NodeJS.ProcessEnv;
  /** SIGTERM, then the exit code (C3: 0 when everything stopped). */
  stop(): Promise<number | null>;
}

/**
 * `npm start` as a user runs it (native ES modules on Node 22 through tsx, its own moto), on a
 * free port, recording itself in a private endpoint file; resolves once it printed that it serves.
 */
export async function startNpm(o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<NpmStart> {
  const port = await freePort();
  mkdirSync(join(root, '.local'), { recursive: true });
  const dir = mkdtempSync(join(root, '.local', 'npm-start-'));
  const env = freshEnv({ PORT: String(port), LOCAL_ENDPOINT_FILE: join(dir, 'endpoint.json'), ...o.env });
  const p = spawnCollected('npm', ['start'], { env });
  const stop = async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    const code = await p.exited;
    rmSync(dir, { recursive: true, force: true });
    return code;
  };
  const deadline = Date.now() + (o.timeoutMs ?? 90_000);
  while (!p.output().includes('Ctrl-C stops')) {
    if (p.child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not come up:\n${p.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const out = p.output();
  return {
    ...p,
    port,
    origin: `http://127.0.0.1:${port}`,
    base: out.match(/Base URL:\s+(\S+)/)![1]!,
    token: out.match(/^(eyJ[\w-]+\.[\w-]+\.[\w-]+)$/m)![1]!,
    endpoint: out.match(/AWS endpoint:\s+(\S+)/)![1]!,
    env,
    stop,
  };
}
