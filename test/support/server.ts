import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mintToken } from '../../local/dev-auth';
import { provisionTable } from '../../local/provision';
import { createLocalServer } from '../../local/server';

/** RequestInit that also takes Buffers/Uint8Arrays as bodies (fetch accepts them at run time). */
export type TestInit = Omit<RequestInit, 'body' | 'headers'> & {
  body?: BodyInit | Uint8Array | null;
  headers?: Record<string, string>;
};

export interface TestServer {
  origin: string;
  /** A fresh organization id per test file keeps files apart on the shared moto. */
  org: string;
  base: string;
  token: string;
  close(): Promise<void>;
  /** fetch relative to the base with the token, unless headers say otherwise. */
  fetch(path: string, init?: TestInit): Promise<Response>;
}

/** The local API server (same handlers as Lambda) on a free port, against the run's moto. */
export async function startServer(prefix = 'org'): Promise<TestServer> {
  await ownTable();
  const server: Server = createLocalServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const org = `${prefix}-${randomUUID().slice(0, 8)}`;
  const base = `${origin}/organizations/${org}/fhir/4`;
  const token = await mintToken({ organizations: [org] });
  return {
    origin,
    org,
    base,
    token,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    fetch: (path, init = {}) =>
      fetch(path.startsWith('http') ? path : `${base}${path}`, {
        ...init,
        body: init.body as BodyInit | null | undefined,
        headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
      }),
  };
}

let tableReady: Promise<void> | undefined;

/**
 * Each test file gets its own table (jest gives each file its own module registry, so the
 * handlers' cached config picks it up). moto copies a whole table on every transaction, so
 * small tables keep the suite fast, and files cannot see each other's items.
 */
function ownTable(): Promise<void> {
  tableReady ??= (async () => {
    const name = `t-${randomUUID()}`;
    const streamArn = await provisionTable(process.env.AWS_ENDPOINT_URL!, name);
    process.env.TABLE_NAME = name;
    process.env.TABLE_STREAM_ARN = streamArn;
  })();
  return tableReady;
}
