/**
 * Three tiers (docs/ARCHITECTURE.md, Tests):
 * - unit: pure code and the in-memory adapters; no emulator, no network (`npm run test:unit`).
 * - infra: the CDK template, synthesized in memory without bundling (`npm run test:infra`).
 * - integration: the handlers through HTTP against moto, which globalSetup starts once for the
 *   run (`npm run test:integration`).
 * `npm test` runs all three.
 */
const shared = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  // swc strips types only; `npm run typecheck` type-checks. middy (and jose) ship ESM only,
  // so they go through the same transform into CommonJS.
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2023' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@middy|jose|fhir-kit-client)/)'],
  moduleNameMapper: {
    '^@middy/([a-z-]+)$': '<rootDir>/node_modules/@middy/$1/index.js',
    '^fhir-kit-client$': '<rootDir>/node_modules/fhir-kit-client/dist/index.js',
  },
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      setupFiles: ['<rootDir>/test/support/unit-env.ts'],
    },
    { ...shared, displayName: 'infra', roots: ['<rootDir>/test/infra'] },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test/integration'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
