import type { Bundle, BundleEntry } from 'fhir/r4';
import { toFhir } from './binary';
import type { CoreDeps, VersionRecord } from './ports';

/** C26: a Bundle carries inline data only while it stays under 4 MiB as a whole. */
export const BUNDLE_LIMIT = 4 * 1024 * 1024;

/** `"data":"",` — what an inline value adds besides its base64 text. */
const DATA_OVERHEAD = 10;
const PARALLEL_READS = 8;

export interface EntrySpec {
  /** The entry without its resource: fullUrl, search, request, response. */
  entry: Omit<BundleEntry, 'resource'>;
  /** The version to show as the resource; undefined for entries without one (deletes). */
  record?: VersionRecord;
}

/**
 * Builds the Bundle with each entry's Binary (C26). It first sizes the Bundle with every data
 * left out (C31 extension in place), then grants inline data in entry order while the total stays
 * under `limit`; data over `maxInlineBytes` is never inlined. Only granted bytes are read, so a
 * page of large Binaries costs no S3 reads.
 */
export async function buildBundle(
  deps: CoreDeps,
  shell: Omit<Bundle, 'entry'>,
  specs: EntrySpec[],
  limit = BUNDLE_LIMIT,
): Promise<{ bundle: Bundle; inlineBytes: number }> {
  const entries: BundleEntry[] = specs.map((s) =>
    s.record ? withResource(s.entry, toFhir(s.record, hasData(s.record) ? 'absent' : undefined)) : s.entry,
  );
  const bundle: Bundle = { ...shell, ...(entries.length > 0 ? { entry: entries } : {}) };
  let size = Buffer.byteLength(JSON.stringify(bundle));
  const granted: number[] = [];
  specs.forEach((s, i) => {
    const r = s.record;
    if (!r || !hasData(r) || r.size > deps.config.maxInlineBytes) return;
    const cost = 4 * Math.ceil(r.size / 3) + DATA_OVERHEAD;
    if (size + cost >= limit) return;
    size += cost;
    granted.push(i);
  });
  let inlineBytes = 0;
  for (let k = 0; k < granted.length; k += PARALLEL_READS) {
    await Promise.all(
      granted.slice(k, k + PARALLEL_READS).map(async (i) => {
        const r = specs[i]!.record!;
        const bytes = await deps.blobs.get(r.blobKey!);
        inlineBytes += bytes.length;
        entries[i] = withResource(specs[i]!.entry, toFhir(r, bytes));
      }),
    );
  }
  return { bundle, inlineBytes };
}

const hasData = (r: VersionRecord) => r.size > 0 && r.blobKey !== undefined && !r.deleted;
/** fullUrl, then the resource, then search/request/response: the order FHIR examples use. */
const withResource = (
  { fullUrl, ...rest }: Omit<BundleEntry, 'resource'>,
  resource: BundleEntry['resource'],
) => ({
  ...(fullUrl !== undefined ? { fullUrl } : {}),
  resource,
  ...rest,
});
