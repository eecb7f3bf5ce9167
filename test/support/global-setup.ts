import { devKey } from '../../local/dev-auth';
import { setLocalEnv } from '../../local/env';
import { startMoto } from '../../local/moto';
import { provision } from '../../local/provision';

/** One moto for the whole run; every test file isolates itself with its own organization ids. */
export default async function globalSetup(): Promise<void> {
  await devKey();
  process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT';
  if (process.env.AWS_ENDPOINT_URL) {
    setLocalEnv(process.env.AWS_ENDPOINT_URL, await provision(process.env.AWS_ENDPOINT_URL));
    return;
  }
  const moto = await startMoto();
  (globalThis as { __moto?: typeof moto }).__moto = moto;
  setLocalEnv(moto.endpoint, await provision(moto.endpoint));
  process.env.TEST_MOTO_PID = String(moto.pid);
}
