import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { endpointFile, type LocalEndpointInfo } from '../clients/local-endpoint';

/** `npm start` records itself for the clients (clients/local-endpoint.ts reads it). */
export function writeEndpointFile(info: LocalEndpointInfo, file = endpointFile()): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Removes the file, only if it is still this process's. */
export function removeEndpointFile(file = endpointFile()): void {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpointInfo;
    if (info.pid === process.pid) rmSync(file);
  } catch {
    // already gone
  }
}
