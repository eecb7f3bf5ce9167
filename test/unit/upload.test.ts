import { createHash, randomBytes } from 'node:crypto';
import { choosePartSize, MAX_PARTS, MIN_PART_SIZE } from '../../functions/core/upload-parts';
import { type HashCheckpoint, resumableSha256 } from '../../functions/core/upload-verify';
import { decodePath, matchRoute } from '../../local/router';

const MiB = 1024 * 1024;

describe('C28 part size', () => {
  test('C28: server-chosen part size is ≥ 5 MiB and keeps 2 GiB within 10,000 parts', () => {
    expect(choosePartSize(1)).toBeGreaterThanOrEqual(MIN_PART_SIZE);
    for (const size of [11 * MiB, 1024 * MiB, 2048 * MiB, 100 * 1024 * MiB]) {
      const p = choosePartSize(size);
      expect(p).toBeGreaterThanOrEqual(MIN_PART_SIZE);
      expect(Math.ceil(size / p)).toBeLessThanOrEqual(MAX_PARTS);
    }
  });

  test('C28: a client part size is honoured when ≥ 5 MiB and within 10,000 parts, else 400', () => {
    expect(choosePartSize(11 * MiB, 5 * MiB)).toBe(5 * MiB);
    expect(() => choosePartSize(11 * MiB, 5 * MiB - 1)).toThrow(/partSize/);
    expect(() => choosePartSize(60_000 * MiB, 5 * MiB)).toThrow(/at most 10000/);
  });
});

describe('C28–C30 routes', () => {
  const base = '/organizations/o1/fhir/4/Binary';
  const name = (m: string, p: string) => {
    const r = matchRoute(m, p);
    return r && 'route' in r ? r.route.module : r;
  };
  test('C28: $upload URLs reach the upload functions through their gateway routes', () => {
    expect(name('POST', `${base}/$upload`)).toBe('handlers/operation-post');
    expect(decodePath(`${base}/%24upload`)).toBe(`${base}/$upload`); // API Gateway decodes before routing
    expect(name('POST', `${base}/abc/$upload`)).toBe('handlers/operation-post');
    expect(name('GET', `${base}/$upload/u1`)).toBe('handlers/operation-get');
    expect(name('DELETE', `${base}/$upload/u1`)).toBe('handlers/operation-delete');
    expect(name('POST', `${base}/$upload/u1/complete`)).toBe('handlers/upload-complete');
    expect(name('GET', `${base}/$export`)).toBe('handlers/read');
    expect(name('POST', `${base}/_search`)).toBe('handlers/search'); // a literal segment beats {id}
    expect(name('GET', `${base}/abc`)).toBe('handlers/read');
    expect(name('GET', `${base}/abc/_history`)).toBe('handlers/history-instance');
  });
});

describe('C30 verification', () => {
  const bytes = randomBytes(3 * 1000 + 17);
  const want = createHash('sha256').update(bytes).digest('base64');
  const reads: { start: number; end: number }[] = [];
  const store = {
    async *stream(_key: string, r: { start: number; end: number }) {
      reads.push(r);
      // Deliver in small chunks, like a socket.
      for (let i = r.start; i <= r.end; i += 100) yield bytes.subarray(i, Math.min(r.end + 1, i + 100));
    },
  };
  beforeEach(() => {
    reads.length = 0;
  });

  test('C30: sha256 of an object streamed in ranges equals the SHA-256 of its bytes', async () => {
    const got = await resumableSha256(store, 'k', bytes.length, { chunk: 1000, window: 3 });
    expect(got).toEqual({ done: true, digest: want });
    expect(Math.max(...reads.map((r) => r.end - r.start + 1))).toBe(1000);
  });

  test('C30: a hash paused after each chunk resumes from its checkpoint and reads nothing twice', async () => {
    let from: HashCheckpoint | undefined;
    const saved: number[] = [];
    for (let call = 1; call <= 10; call++) {
      const r = await resumableSha256(store, 'k', bytes.length, {
        chunk: 1000,
        window: 1,
        ...(from ? { from } : {}),
        pause: () => true,
        save: async (c) => {
          saved.push(c.offset);
        },
      });
      if (r.done) {
        expect(r.digest).toBe(want);
        expect(call).toBe(4); // 3 pauses after chunks 1–3, the last chunk finishes
        expect(saved).toEqual([1000, 2000, 3000]);
        expect(reads.map((x) => x.start)).toEqual([0, 1000, 2000, 3000]);
        return;
      }
      from = r.checkpoint;
    }
    throw new Error('never finished');
  });

  test('C30: periodic checkpoints let a hash killed mid-way resume from the last one', async () => {
    const saved: HashCheckpoint[] = [];
    const failing = {
      async *stream(key: string, r: { start: number; end: number }) {
        if (r.start >= 2000) throw new Error('killed');
        yield* store.stream(key, r);
      },
    };
    await expect(
      resumableSha256(failing, 'k', bytes.length, {
        chunk: 1000,
        window: 1,
        checkpointEvery: 1000,
        save: async (c) => {
          saved.push(c);
        },
      }),
    ).rejects.toThrow('killed');
    expect(saved.map((c) => c.offset)).toEqual([1000, 2000]);
    reads.length = 0;
    const got = await resumableSha256(store, 'k', bytes.length, { chunk: 1000, from: saved.at(-1)! });
    expect(got).toEqual({ done: true, digest: want });
    expect(reads[0]!.start).toBe(2000);
  });
});
