import { badRequest, preconditionFailed } from './outcome';
import type { VersionRecord } from './ports';
import type { FhirRequest } from './request';
import { header } from './request';

export const etag = (vid: number) => `W/"${vid}"`;
export const httpDate = (instant: string) => new Date(instant).toUTCString();

/** ETag and Last-Modified of a version (C5). */
export function versionHeaders(v: Pick<VersionRecord, 'vid' | 'lastUpdated'>): Record<string, string> {
  return { ETag: etag(v.vid), 'Last-Modified': httpDate(v.lastUpdated) };
}

/** Parses `W/"3"` or `"3"` (C21); undefined when the header is absent. */
export function ifMatchVid(req: FhirRequest): number | undefined {
  const h = header(req, 'if-match');
  if (h === undefined) return undefined;
  const m = /^\s*(?:W\/)?"([1-9][0-9]{0,9})"\s*$/.exec(h);
  if (!m) throw badRequest(`If-Match "${h}" is malformed: use W/"<versionId>", e.g. W/"3".`, 'value');
  return Number(m[1]);
}

/** C21: the version the client expects must be the current one. */
export function checkIfMatch(expected: number | undefined, current: VersionRecord | undefined): void {
  if (expected === undefined) return;
  if (current?.vid !== expected) {
    throw preconditionFailed(
      current
        ? `If-Match W/"${expected}" does not match the current version W/"${current.vid}": read the resource again and retry.`
        : `If-Match W/"${expected}" was sent but the resource does not exist.`,
    );
  }
}

/** C17: true when the client's cached copy is current (answer 304). */
export function notModified(req: FhirRequest, v: VersionRecord): boolean {
  const inm = header(req, 'if-none-match');
  if (inm !== undefined) {
    return inm.split(',').some((t) => {
      const s = t.trim();
      return s === '*' || s.replace(/^W\//, '') === `"${v.vid}"`;
    });
  }
  const ims = header(req, 'if-modified-since');
  if (ims !== undefined) {
    const since = Date.parse(ims);
    // HTTP dates have whole seconds; lastUpdated has milliseconds.
    return !Number.isNaN(since) && since >= Math.floor(Date.parse(v.lastUpdated) / 1000) * 1000;
  }
  return false;
}

export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * C18: one `bytes=a-b`, `a-` or `-n` range. Syntactically invalid or multi-range headers are
 * ignored (RFC 9110 §14.2 allows it) and the whole content is sent.
 */
export function parseRange(value: string | undefined, size: number): RangeResult {
  if (value === undefined) return { kind: 'full' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}
