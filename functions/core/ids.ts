import { badRequest } from './outcome';

/** C1/C6: organization ids and resource ids share FHIR's id syntax. */
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export const isValidId = (s: string) => ID.test(s);

/**
 * First character of the keys of the service's own objects in the bucket (`_events/`, `_exports/`).
 * No organization id can start with it (C1), so every other key is a tenant's version object
 * (`{org}/Binary/{id}/{uuid}`): the bucket policy protects those from deletes and overwrites
 * (infra/storage.ts) and leaves these to the functions that own them.
 */
export const SERVICE_KEY_PREFIX = '_';

export function requireId(value: string | undefined, what: 'organizationId' | 'id'): string {
  if (value === undefined || !ID.test(value)) {
    throw badRequest(
      `${what} "${value ?? ''}" is invalid: use 1-64 characters of A-Z, a-z, 0-9, '-' and '.'.`,
      'value',
    );
  }
  return value;
}

/** Version ids are "1", "2", … (C5). */
export function parseVid(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9][0-9]{0,9}$/.test(value)) return undefined;
  return Number(value);
}
