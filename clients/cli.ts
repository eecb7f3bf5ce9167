import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { readEndpointFile } from './local-endpoint';

/** What the command line of the clients have in common: usage, clean errors, paths, the local server. */

/** A mistake on the command line: the message and a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the user can act on: the message alone, no stack trace. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * A path the user typed, resolved against the directory they ran the command in: npm runs scripts
 * at the project root and records the caller's directory in INIT_CWD.
 */
export const callerPath = (path: string, env = process.env): string =>
  resolve(env.INIT_CWD ?? process.cwd(), path);

/** `node:util` parseArgs, with its errors (unknown option, missing value) as UsageErrors. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T) {
  try {
    return parseArgs({ ...config, args: config.args ?? process.argv.slice(2) });
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((e as Error).message);
    throw e;
  }
}

/** The FHIR base of an organization on the local server `npm start` recorded, or why there is none. */
export function localBase(org: string): string {
  const info = readEndpointFile();
  if (!info)
    throw new CliError(
      'no local server is running (npm start records itself in .local/endpoint.json): start one with `npm start`, or give --base/FHIR_BASE.',
    );
  return `${info.origin}/organizations/${encodeURIComponent(org)}/fhir/4`;
}

/** Why a request failed, in words: refused connections and missing files name what to do. */
export function explain(e: unknown, target?: string): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code ?? err.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET')
    return `cannot reach ${target ?? 'the server'} (${code}): is it running (npm start)?`;
  if (code === 'ENOENT' && err.message) return err.message.replace(/^ENOENT: /, '');
  if (err.message === 'fetch failed' && err.cause?.message)
    return `${target ?? 'the server'}: ${err.cause.message}`;
  return err.message ?? String(e);
}

/**
 * Runs a command's main: usage mistakes print the message and how to get help (exit 2), other
 * failures one line `name: why` (exit 1, or the CliError's code); never a stack trace.
 */
export function runCommand(name: string, main: () => Promise<void>, target?: () => string | undefined): void {
  main().catch((e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`${name}: ${e.message}\nRun with --help for usage.\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: ${e instanceof CliError ? e.message : explain(e, target?.())}\n`);
    process.exit(e instanceof CliError ? e.exitCode : 1);
  });
}
