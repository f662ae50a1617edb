// Per-workload medians per target and tsgt/peer ratios with their spread.

import type { TargetKind } from './targets.js';

/** One client run against one target, with the target's CPU over the measured window. */
export interface RunRecord {
  workload: string;
  target: TargetKind;
  round: number;
  ok: boolean;
  iops: number;
  mbps: number;
  lat_mean_us: number;
  lat_p99_us: number;
  lat_max_us: number;
  /** Target process CPU (user+system) per completed I/O in the measured window. */
  target_cpu_us_per_io: number | null;
  /** Target CPU time / wall time over the window (1.0 = one core busy). */
  target_cpu_util: number | null;
  client_cpu_s: number;
  /**
   * CPU busy on the machine outside the target and the client over the window,
   * in cores (other helpers' jobs, the runner itself): a noise indicator.
   */
  other_cpu_util: number | null;
  errors: number;
  stalled: boolean;
  /** Slowest session's I/Os / mean per session; Jain's index (ClientResult). */
  session_min_share: number | null;
  session_jain: number | null;
  note?: string;
}

export interface TargetSummary {
  runs: number;
  failed: number;
  iops: number;
  mbps: number;
  lat_mean_us: number;
  lat_p99_us: number;
  target_cpu_us_per_io: number | null;
  target_cpu_util: number | null;
  other_cpu_util: number | null;
  errors: number;
  stalls: number;
  session_min_share: number | null;
  session_jain: number | null;
}

export interface Ratio {
  /** Median over rounds of tsgt/peer for the same round. */
  median: number;
  min: number;
  max: number;
  rounds: number;
}

export interface WorkloadSummary {
  workload: string;
  targets: Partial<Record<TargetKind, TargetSummary>>;
  /** tsgt/peer IOPS (higher is better for tsgt). */
  iopsRatio: Partial<Record<TargetKind, Ratio>>;
  /** tsgt/peer mean latency (lower is better for tsgt). */
  latRatio: Partial<Record<TargetKind, Ratio>>;
  /** tsgt/peer target CPU per I/O (lower is better for tsgt). */
  cpuRatio: Partial<Record<TargetKind, Ratio>>;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function medianOrNull(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? median(v) : null;
}

function summarise(rs: readonly RunRecord[]): TargetSummary {
  const ok = rs.filter((r) => r.ok);
  return {
    runs: rs.length,
    failed: rs.length - ok.length,
    iops: median(ok.map((r) => r.iops)),
    mbps: median(ok.map((r) => r.mbps)),
    lat_mean_us: median(ok.map((r) => r.lat_mean_us)),
    lat_p99_us: median(ok.map((r) => r.lat_p99_us)),
    target_cpu_us_per_io: medianOrNull(ok.map((r) => r.target_cpu_us_per_io)),
    target_cpu_util: medianOrNull(ok.map((r) => r.target_cpu_util)),
    other_cpu_util: medianOrNull(ok.map((r) => r.other_cpu_util)),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    stalls: rs.filter((r) => r.stalled).length,
    session_min_share: medianOrNull(ok.map((r) => r.session_min_share)),
    session_jain: medianOrNull(ok.map((r) => r.session_jain)),
  };
}

function ratio(
  mine: readonly RunRecord[],
  theirs: readonly RunRecord[],
  pick: (r: RunRecord) => number | null,
): Ratio | undefined {
  const per: number[] = [];
  for (const a of mine) {
    const b = theirs.find((r) => r.round === a.round);
    if (!a.ok || !b || !b.ok) continue;
    const x = pick(a);
    const y = pick(b);
    if (x === null || y === null || !(y > 0)) continue;
    per.push(x / y);
  }
  if (per.length === 0) return undefined;
  return { median: median(per), min: Math.min(...per), max: Math.max(...per), rounds: per.length };
}

export function summariseWorkload(workload: string, records: readonly RunRecord[], kinds: readonly TargetKind[]): WorkloadSummary {
  const mine = records.filter((r) => r.workload === workload);
  const by = (k: TargetKind) => mine.filter((r) => r.target === k);
  const out: WorkloadSummary = { workload, targets: {}, iopsRatio: {}, latRatio: {}, cpuRatio: {} };
  for (const k of kinds) {
    const rs = by(k);
    if (rs.length) out.targets[k] = summarise(rs);
  }
  for (const k of kinds) {
    if (k === 'tsgt') continue;
    const ri = ratio(by('tsgt'), by(k), (r) => r.iops);
    const rl = ratio(by('tsgt'), by(k), (r) => r.lat_mean_us);
    const rc = ratio(by('tsgt'), by(k), (r) => r.target_cpu_us_per_io);
    if (ri) out.iopsRatio[k] = ri;
    if (rl) out.latRatio[k] = rl;
    if (rc) out.cpuRatio[k] = rc;
  }
  return out;
}
