import { BUNDLE_LIMIT, buildBundle } from '../../functions/core/bundle';
import type { BlobStore, CoreDeps, VersionRecord } from '../../functions/core/ports';

const MiB = 1024 * 1024;

/** In-memory blobs that count reads: C26 must never read bytes it will not include. */
function fakeDeps() {
  const reads: string[] = [];
  const blobs: BlobStore = {
    put: async () => undefined,
    get: async (key) => {
      reads.push(key);
      return new Uint8Array(Number(key.split(':')[1])).fill(65);
    },
    delete: async () => undefined,
    copy: async () => undefined,
    presignGet: async () => 'https://example.invalid',
  };
  const deps = {
    blobs,
    repo: {} as CoreDeps['repo'],
    config: {
      maxDirectBytes: 4 * MiB,
      maxInlineBytes: 4 * MiB,
      presignGetSeconds: 300,
      intentTtlSeconds: 60,
      commitReserveMs: 0,
      maxResourceBytes: 65536,
    },
  } satisfies CoreDeps;
  return { deps, reads };
}

const rec = (id: string, size: number, extra: Partial<VersionRecord> = {}): VersionRecord => ({
  org: 'o',
  id,
  vid: 1,
  lastUpdated: '2025-01-01T00:00:00.000Z',
  method: 'POST',
  created: true,
  deleted: false,
  resource: JSON.stringify({ resourceType: 'Binary', contentType: 'application/octet-stream' }),
  size,
  ...(size > 0 ? { blobKey: `${id}:${size}` } : {}),
  ...extra,
});
const shell = { resourceType: 'Bundle' as const, type: 'searchset' as const };
const spec = (r: VersionRecord) => ({ entry: { fullUrl: `https://x/Binary/${r.id}` }, record: r });
const absent = {
  extension: [
    { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unsupported' },
  ],
};

describe('C26 Binary in Bundles', () => {
  test('C26/C31: data is inline while the Bundle stays under 4 MiB; the rest carry data-absent-reason unread', async () => {
    const { deps, reads } = fakeDeps();
    const records = [rec('a', 1.5 * MiB), rec('b', 1.5 * MiB), rec('c', 100), rec('d', 0), rec('e', 5 * MiB)];
    const { bundle, inlineBytes } = await buildBundle(deps, shell, records.map(spec));
    const out = bundle.entry!.map((e) => e.resource as { id: string; data?: string; _data?: unknown });
    expect(out[0]!.data).toHaveLength(4 * Math.ceil((1.5 * MiB) / 3));
    expect(out[1]!.data).toBeUndefined(); // 2 MiB more base64 would cross 4 MiB
    expect(out[1]!._data).toEqual(absent);
    expect(out[2]!.data).toBe(Buffer.alloc(100, 65).toString('base64')); // small ones still fit
    expect(out[3]).not.toHaveProperty('data');
    expect(out[3]).not.toHaveProperty('_data'); // nothing to leave out
    expect(out[4]!._data).toEqual(absent); // over maxInlineBytes: never inline
    expect(reads.sort()).toEqual(['a:1572864', 'c:100']);
    expect(inlineBytes).toBe(1.5 * MiB + 100);
    expect(Buffer.byteLength(JSON.stringify(bundle))).toBeLessThan(BUNDLE_LIMIT);
  });

  test('C26/C24: entries without a record (deletes) carry no resource', async () => {
    const { deps, reads } = fakeDeps();
    const { bundle } = await buildBundle(deps, { ...shell, type: 'history' }, [
      { entry: { fullUrl: 'https://x/Binary/z', response: { status: '204 No Content' } } },
    ]);
    expect(bundle.entry).toEqual([{ fullUrl: 'https://x/Binary/z', response: { status: '204 No Content' } }]);
    expect(reads).toEqual([]);
  });
});
