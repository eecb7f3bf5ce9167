import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRoot } from './paths';

/** What `npm start` tells the other local tools (`npm run -s events`) about itself. */
export interface LocalEndpointInfo {
  /** The API origin, `http://127.0.0.1:PORT`. */
  origin: string;
  /** The AWS endpoint (moto) the server runs against. */
  endpoint: string;
  region: string;
  topicArn: string;
  bucketName: string;
  pid: number;
}

export const ENDPOINT_FILE = join(projectRoot(), '.local', 'endpoint.json');

export function writeEndpointFile(info: LocalEndpointInfo, file = ENDPOINT_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`);
}

/** The running server's info, or undefined when none wrote it (or its process is gone). */
export function readEndpointFile(file = ENDPOINT_FILE): LocalEndpointInfo | undefined {
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpointInfo;
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    // ESRCH: left behind by a server that did not stop cleanly; EPERM: alive, another user's.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return info;
}

/** Removes the file, only if it is still this process's. */
export function removeEndpointFile(file = ENDPOINT_FILE): void {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpointInfo;
    if (info.pid === process.pid) rmSync(file);
  } catch {
    // already gone
  }
}
