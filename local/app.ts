import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handler as emitter } from '../functions/handlers/emitter';
import { handler as exportWorker } from '../functions/handlers/export-worker';
import { setLocalEnv } from './env';
import { type ExportPoller, startExportPoller } from './export-poller';
import { type Moto, startMoto } from './moto';
import { provision } from './provision';
import { createLocalServer } from './server';
import { type StreamPoller, startStreamPoller } from './stream-poller';
import { sweepExpiredIntents } from './sweeper';

export interface LocalApp {
  server: Server;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  endpoint: string;
  /** The emulator's process id when this app started it (the benchmark watches its memory). */
  motoPid?: number;
  stop(): Promise<void>;
}

export interface LocalAppOptions {
  port?: number;
  /** Interval of the TTL stand-in sweep; 0 disables it. */
  sweepMs?: number;
  /** Drive the emitter from the table's stream (C32); false leaves notifications off. @default true */
  emitter?: boolean;
  log?: (msg: string) => void;
}

/**
 * The whole local service: moto (unless AWS_ENDPOINT_URL names an endpoint), provisioned
 * resources, the API server, and the background loops that stand in for AWS machinery.
 */
export async function startLocalApp(o: LocalAppOptions = {}): Promise<LocalApp> {
  let moto: Moto | undefined;
  let endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) {
    moto = await startMoto();
    endpoint = moto.endpoint;
  }
  try {
    setLocalEnv(endpoint, await provision(endpoint));
    const server = createLocalServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const timers: NodeJS.Timeout[] = [];
    if ((o.sweepMs ?? 60_000) > 0) {
      timers.push(
        setInterval(
          () => void sweepExpiredIntents().catch((e) => o.log?.(`sweep failed: ${e}`)),
          o.sweepMs ?? 60_000,
        ),
      );
    }
    let poller: StreamPoller | undefined;
    if (o.emitter ?? true) {
      poller = startStreamPoller({ handler: emitter, log: o.log });
    }
    // C35: the export worker, driven from its queue as Lambda's SQS event source mapping would.
    const exports: ExportPoller = startExportPoller({
      handler: exportWorker,
      queueUrl: process.env.EXPORT_QUEUE_URL!,
      log: o.log,
    });
    return {
      server,
      origin: `http://127.0.0.1:${port}`,
      endpoint,
      ...(moto ? { motoPid: moto.pid } : {}),
      async stop() {
        for (const t of timers) clearInterval(t);
        await poller?.stop();
        await exports.stop();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        await moto?.stop();
      },
    };
  } catch (e) {
    await moto?.stop();
    throw e;
  }
}
