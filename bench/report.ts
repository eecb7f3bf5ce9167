import { readFileSync } from 'node:fs';

/** One benchmark's part of bench/results.md: a title, table rows and free lines under them. */
export interface Section {
  title: string;
  rows: Row[];
  notes?: string[];
}

/** A measured line: what the API did, what the direct SDK did on the same emulator, their ratio. */
export interface Row {
  measure: string;
  api: string;
  direct?: string;
  ratio?: string;
  goal?: string;
  /** Whether the goal is met; undefined when the row has no goal. */
  met?: boolean | string;
}

/** The p-th percentile of xs (nearest rank). */
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

/** Runs `op` `count` times over `clients` concurrent loops; latencies in ms and ops/s. */
export async function load(count: number, clients: number, op: (i: number) => Promise<unknown>) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t = performance.now();
        await op(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return { p50: pct(lat, 50), p99: pct(lat, 99), perSec: count / secs };
}

/**
 * Runs `a` and `b` alternately (`count` each) over `clients` concurrent loops, so a change in the
 * machine's load hits both alike; latencies of each in ms.
 */
export async function paired(
  count: number,
  clients: number,
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
) {
  const la: number[] = [];
  const lb: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < count; i = next++) {
        for (const [op, lat] of i % 2
          ? ([
              [a, la],
              [b, lb],
            ] as const)
          : ([
              [b, lb],
              [a, la],
            ] as const)) {
          const t = performance.now();
          await op();
          lat.push(performance.now() - t);
        }
      }
    }),
  );
  return { a: { p50: pct(la, 50), p99: pct(la, 99) }, b: { p50: pct(lb, 50), p99: pct(lb, 99) } };
}

/** A process's resident set in MiB (0 when it is gone). */
export function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every `ms` until stopped; returns the peak in MiB. */
export function rssPeak(pid: number | undefined, ms = 50) {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, ms);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, rssMiB(pid));
    },
  };
}

export const times = (x: number) => `${x.toFixed(2)}×`;

/** The Markdown of the sections, one table each. */
export function render(sections: Section[]): string[] {
  const out: string[] = [];
  for (const s of sections) {
    out.push(
      `## ${s.title}`,
      '',
      '| measure | API | direct SDK | ratio | goal | met |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const r of s.rows) {
      const met = r.met === undefined ? '' : typeof r.met === 'string' ? r.met : r.met ? 'met' : 'missed';
      out.push(`| ${[r.measure, r.api, r.direct ?? '', r.ratio ?? '', r.goal ?? '', met].join(' | ')} |`);
    }
    out.push('', ...(s.notes ?? []).flatMap((n) => [n, '']));
  }
  return out;
}
