import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { projectRoot } from './paths';

const REQUIREMENTS = join(projectRoot(), 'local', 'requirements-moto.txt');
/** moto_server's own app behind the patches that make it faithful (moto_serial.py says which). */
const SERIAL = join(projectRoot(), 'local', 'moto_serial.py');

/** The moto version the harness patches (local/requirements-moto.txt is the one place it is written). */
export const MOTO_VERSION = (() => {
  const m = /^moto\[server\]==(\S+)/m.exec(readFileSync(REQUIREMENTS, 'utf8'));
  if (!m) throw new Error(`${REQUIREMENTS} does not pin moto[server]`);
  return m[1]!;
})();

/** Where `npm start` / `npm test` install the pinned moto when the machine lacks it. */
export const motoVenvDir = (env = process.env) =>
  env.MOTO_VENV_DIR ?? join(projectRoot(), '.local', `moto-${MOTO_VERSION}`);

const venvPython = (dir: string) =>
  process.platform === 'win32' ? join(dir, 'Scripts', 'python.exe') : join(dir, 'bin', 'python');

/** The Python 3 that creates the environment (and whose own moto is used if it is the pinned one). */
const basePython = (env = process.env) => env.LOCAL_PYTHON ?? 'python3';

function hasPinnedMoto(python: string): boolean {
  const check = `import sys, flask, werkzeug, moto, moto.server; sys.exit(0 if moto.__version__ == ${JSON.stringify(MOTO_VERSION)} else 3)`;
  return spawnSync(python, ['-c', check], { stdio: 'ignore' }).status === 0;
}

/**
 * The Python that runs the emulator: MOTO_PYTHON if set; else the environment under .local/;
 * else python3 itself when it has exactly the pinned moto. undefined: none has it.
 */
export function motoPython(env = process.env): string | undefined {
  if (env.MOTO_PYTHON) return hasPinnedMoto(env.MOTO_PYTHON) ? env.MOTO_PYTHON : undefined;
  const local = venvPython(motoVenvDir(env));
  if (existsSync(local) && hasPinnedMoto(local)) return local;
  return hasPinnedMoto(basePython(env)) ? basePython(env) : undefined;
}

export class EmulatorSetupError extends Error {}

/**
 * Finds the pinned moto, installing it on first use into a Python virtual environment under
 * .local/ (pip, from PyPI), so that `npm ci && npm start` is the whole set-up on a fresh machine.
 * Progress goes to stderr; every failure says what to do.
 */
export function ensureMoto(env = process.env, log: (msg: string) => void = (m) => console.error(m)): string {
  const found = motoPython(env);
  if (found) return found;
  const spec = `moto[server]==${MOTO_VERSION}`;
  if (env.MOTO_PYTHON) {
    throw new EmulatorSetupError(
      `MOTO_PYTHON=${env.MOTO_PYTHON} cannot import ${spec} (with flask and werkzeug). Unset MOTO_PYTHON to let npm set it up under .local/, or install it there: ${env.MOTO_PYTHON} -m pip install "${spec}".`,
    );
  }
  const python = basePython(env);
  const version = spawnSync(python, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
  if (version.error || version.status !== 0 || version.stdout.trim() !== '3') {
    throw new EmulatorSetupError(
      `Python 3 is required for the local AWS emulator (moto), and "${python}" was not found or is not Python 3. ` +
        'Install Python 3 with its venv module (Debian/Ubuntu: apt-get install python3 python3-venv; macOS: brew install python), ' +
        'then run the command again; or set AWS_ENDPOINT_URL to an emulator you run yourself.',
    );
  }
  const dir = motoVenvDir(env);
  const tmp = `${dir}.partial-${process.pid}`;
  log(`Setting up the AWS emulator once: ${spec} into ${dir} (pip, from PyPI)…`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(tmp), { recursive: true });
  const fail = (what: string, hint: string): never => {
    rmSync(tmp, { recursive: true, force: true });
    throw new EmulatorSetupError(`${what}. ${hint}`);
  };
  const venv = spawnSync(python, ['-m', 'venv', tmp], { stdio: ['ignore', 2, 2] });
  if (venv.status !== 0)
    fail(
      `"${python} -m venv" failed (exit ${venv.status})`,
      "Install Python's venv module (Debian/Ubuntu: apt-get install python3-venv) and run the command again.",
    );
  const pip = spawnSync(
    venvPython(tmp),
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-r', REQUIREMENTS],
    { stdio: ['ignore', 2, 2] },
  );
  if (pip.status !== 0)
    fail(
      `Installing ${spec} failed (pip exit ${pip.status}); nothing was kept`,
      `Check that PyPI is reachable (or pip's index settings), or install it yourself: pip install "${spec}"; or set AWS_ENDPOINT_URL to an emulator you run yourself.`,
    );
  if (!hasPinnedMoto(venvPython(tmp)))
    fail(`pip installed ${spec}, but it does not import`, 'See the pip output above.');
  try {
    renameSync(tmp, dir);
  } catch {
    // Another npm start/test finished the same set-up first: use theirs.
    rmSync(tmp, { recursive: true, force: true });
  }
  const ready = motoPython(env);
  if (!ready)
    throw new EmulatorSetupError(`${dir} was set up but does not run ${spec}; delete it and try again.`);
  log(`AWS emulator ready: ${spec}.`);
  return ready;
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

/**
 * Starts the pinned moto (installing it on first use) on a free loopback port, through the
 * harness that makes it faithful (moto_serial.py), and waits until it answers.
 */
export async function startMoto(): Promise<Moto> {
  const python = ensureMoto();
  const port = await freePort();
  // Errors (a refused moto version, a crash) go to our stderr; request logs are dropped.
  const child = spawn(python, [SERIAL, '127.0.0.1', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
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
