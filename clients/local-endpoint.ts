import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../local/paths';

/**
 * What `npm start` records about itself in `.local/endpoint.json` (local/endpoint-file.ts writes
 * it) so that the clients find the running server: the `binary` CLI its API origin, the `events`
 * CLI its AWS endpoint and topic.
 */
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

/** `.local/endpoint.json` of this checkout; `LOCAL_ENDPOINT_FILE` names another (tests). */
export const endpointFile = (env = process.env): string =>
  env.LOCAL_ENDPOINT_FILE ?? join(projectRoot(), '.local', 'endpoint.json');

/** The running server's info, or undefined when none wrote it (or its process is gone). */
export function readEndpointFile(file = endpointFile()): LocalEndpointInfo | undefined {
  if (!existsSync(file)) return undefined;
  let info: LocalEndpointInfo;
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpointInfo;
  } catch {
    return undefined; // being written, or damaged: as good as absent
  }
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    // ESRCH: left behind by a server that did not stop cleanly; EPERM: alive, another user's.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return info;
}
