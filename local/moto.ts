import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const MOTO_MISSING =
  'moto_server was not found (or python3 cannot import moto.server). Install the AWS emulator with: pip install "moto[server]" ' +
  '(or set AWS_ENDPOINT_URL to a running moto/LocalStack).';

/** The Python that has moto; MOTO_PYTHON overrides. */
const PYTHON = process.env.MOTO_PYTHON ?? 'python3';
const SERIAL = join(__dirname, 'moto_serial.py');

export function motoAvailable(): boolean {
  return (
    spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0 &&
    spawnSync(PYTHON, ['-c', 'import moto.server, werkzeug'], { stdio: 'ignore' }).status === 0
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface Moto {
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts moto_server on a free loopback port and waits until it answers. */
export async function startMoto(): Promise<Moto> {
  if (!motoAvailable()) throw new Error(MOTO_MISSING);
  const port = await freePort();
  // moto_server's own app, with DynamoDB requests serialized (moto_serial.py says why).
  const child = spawn(PYTHON, [SERIAL, '127.0.0.1', String(port)], { stdio: ['ignore', 'ignore', 'ignore'] });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok || res.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error('moto_server did not start within 30 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint, pid: child.pid!, stop: () => stopProcess(child) };
}

/** TERM, then KILL after a short wait: moto_server can outlive a SIGTERM for seconds. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

/** Same for a process known only by pid (jest's global teardown). */
export async function stopPid(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
}
