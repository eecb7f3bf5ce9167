import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import { retentionDays } from './retention';
import { FhirBinaryStack, type FhirBinaryStackProps } from './stack';

/** Placeholders that let `cdk synth` run on a fresh clone; an API built with them rejects every token. */
export const PLACEHOLDER_ISSUER = 'https://issuer.invalid/';
export const PLACEHOLDER_AUDIENCE = 'fhir-binary';

const list = (v: unknown) =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];

/** Stack props from the context values `issuer`, `audience`, `allowedOrigins`, `alarmEmail`, `publicBaseUrl`, `logRetentionDays`, `objectLockDays`, `tokenEndpoint`, `jwksUri`. */
export function propsFromContext(app: App): FhirBinaryStackProps {
  const ctx = (k: string): string | undefined => {
    const v = app.node.tryGetContext(k);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const issuer = ctx('issuer');
  const audience = ctx('audience');
  if (!issuer || !audience)
    process.stderr.write(
      'warning: context values issuer and audience are not set; the API will reject every token. ' +
        'Deploy with -c issuer=https://… -c audience=…\n',
    );
  return {
    issuer: issuer ?? PLACEHOLDER_ISSUER,
    audience: audience ?? PLACEHOLDER_AUDIENCE,
    allowedOrigins: list(ctx('allowedOrigins')),
    alarmEmail: ctx('alarmEmail'),
    publicBaseUrl: ctx('publicBaseUrl'),
    subscribers: list(ctx('subscribers')),
    tokenEndpoint: ctx('tokenEndpoint'),
    jwksUri: ctx('jwksUri'),
    logRetention: ctx('logRetentionDays') === undefined ? undefined : retentionDays(ctx('logRetentionDays')!),
    objectLockDays: ctx('objectLockDays') === undefined ? undefined : Number(ctx('objectLockDays')),
    // Env-agnostic unless the CLI knows an account: synth needs no credentials.
    env:
      process.env.CDK_DEFAULT_ACCOUNT && process.env.CDK_DEFAULT_REGION
        ? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }
        : undefined,
  };
}

/** The app with cdk-nag's AwsSolutions and HIPAA Security packs: synthesis fails on any finding. */
export function buildApp(app: App, props: FhirBinaryStackProps = propsFromContext(app)): FhirBinaryStack {
  const stack = new FhirBinaryStack(app, 'FhirBinary', props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
  return stack;
}
