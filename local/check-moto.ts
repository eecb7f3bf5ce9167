import { MOTO_MISSING, motoAvailable } from './moto';

// `npm test` and `npm start` fail early and clearly when the emulator is missing.
if (!process.env.AWS_ENDPOINT_URL && !motoAvailable()) {
  console.error(MOTO_MISSING);
  process.exit(1);
}
