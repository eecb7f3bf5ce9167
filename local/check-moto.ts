import { EmulatorSetupError, ensureMoto } from './moto';

// `npm test` (and `npm start`, through startMoto) set up the pinned emulator themselves on first
// run, and fail early and clearly when they cannot.
if (!process.env.AWS_ENDPOINT_URL) {
  try {
    ensureMoto();
  } catch (e) {
    console.error(e instanceof EmulatorSetupError ? e.message : e);
    process.exit(1);
  }
}
