// Markdown rendering of a benchmark run.

import type { TargetKind } from './targets.js';
import type { Workload, TcpBaseline } from './client.js';
import type { RunRecord, WorkloadSummary, Ratio } from './stats.js';

export interface MachineInfo {
  date: string;
  cpuModel: string;
  nproc: number;
  memGiB: number;
  kernel: string;
  node: string;
  versions: Record<string, string>;
}

export interface BenchSettings {
  rounds: number;
  durationS: number;
  warmupS: number;
  stallS: number;
  targets: TargetKind[];
  excluded: { target: TargetKind; reason: string }[];
  loginKeys: Record<string, string>;
  queueDepthPerSession: number;
  backing: string;
  client: string;
}

export interface BenchReport {
  machine: MachineInfo;
  settings: BenchSettings;
  /** Median of the per-round samples. */
  baseline: TcpBaseline | null;
  baselineSamples: TcpBaseline[];
  workloads: Workload[];
  summaries: WorkloadSummary[];
  runs: RunRecord[];
  peakRssKiB: Partial<Record<TargetKind, number>>;
  /** Last lines each target printed (stdout+stderr), for diagnosis. */
  targetLogTail: Partial<Record<TargetKind, string>>;
  wallSeconds: number;
}

function n(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function r(x: Ratio | undefined): string {
  if (!x) return '–';
  return `${x.median.toFixed(2)} (${x.min.toFixed(2)}–${x.max.toFixed(2)})`;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function header(cells: string[]): string {
  return `${row(cells)}\n${row(cells.map((_, i) => (i === 0 ? '---' : '---:')))}`;
}

export function renderMarkdown(rep: BenchReport): string {
  const { machine: m, settings: s } = rep;
  const kinds = s.targets;
  const peers = kinds.filter((k) => k !== 'tsgt');
  const label = new Map(rep.workloads.map((w) => [w.id, w.label]));
  const out: string[] = [];
  out.push('# tsgt vs tgt vs istgt — iSCSI target benchmark');
  out.push('');
  out.push(`- Date: ${m.date}; wall time ${n(rep.wallSeconds)} s`);
  out.push(`- Machine: ${m.cpuModel}, ${m.nproc} CPUs (nproc), ${n(m.memGiB, 1)} GiB RAM, Linux ${m.kernel}, Node ${m.node}`);
  out.push(`- Versions: ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(
    `- Method: ${s.rounds} rounds × ${s.durationS} s measured after ${s.warmupS} s warm-up, per workload and target; ` +
      'targets interleaved within each round (the starting target rotates per round); every number below is the median over rounds; ' +
      'ratios are tsgt/peer per round, shown as median (min–max).',
  );
  out.push(`- Client: ${s.client}`);
  out.push(`- Backing store: ${s.backing}`);
  out.push(
    `- Login keys offered by every target: ${Object.entries(s.loginKeys).map(([k, v]) => `${k}=${v}`).join(', ')}; ` +
      `${s.queueDepthPerSession} commands per session (CmdSN window / MaxQueueCmd / QueueDepth).`,
  );
  if (s.excluded.length) {
    out.push(`- Excluded: ${s.excluded.map((e) => `${e.target} (${e.reason})`).join('; ')}`);
  }
  out.push('- Client and targets share the machine\'s CPUs, so a target that burns more CPU also slows the client.');
  out.push('');

  if (rep.baseline) {
    const b = rep.baseline;
    const span = (f: (x: TcpBaseline) => number, d: number) => {
      const v = rep.baselineSamples.map(f);
      return v.length > 1 ? ` [${n(Math.min(...v), d)}–${n(Math.max(...v), d)}]` : '';
    };
    out.push('## Loopback TCP baseline (C, one connection, TCP_NODELAY, two processes)');
    out.push('');
    out.push(`Median of ${rep.baselineSamples.length} samples (one per round), [min–max].`);
    out.push('');
    out.push(header(['Test', 'Result']));
    out.push(row(['48-byte ping-pong round trip', `${n(b.pingpong48_rtt_us, 1)} µs${span((x) => x.pingpong48_rtt_us, 1)}`]));
    out.push(row(['48-byte request → 4144-byte reply (4 KiB read shape)', `${n(b.read4k_shape_rtt_us, 1)} µs${span((x) => x.read4k_shape_rtt_us, 1)}`]));
    out.push(row(['single-stream throughput, 1 MiB writes', `${n(b.stream_mbps)} MB/s${span((x) => x.stream_mbps, 0)}`]));
    out.push('');
  }

  out.push('## Throughput (MB = 10^6 bytes)');
  out.push('');
  out.push(
    header([
      'Workload',
      ...kinds.flatMap((k) => [`${k} IOPS`, `${k} MB/s`]),
      ...peers.map((k) => `tsgt/${k} IOPS`),
    ]),
  );
  for (const w of rep.summaries) {
    out.push(
      row([
        label.get(w.workload) ?? w.workload,
        ...kinds.flatMap((k) => [n(w.targets[k]?.iops), n(w.targets[k]?.mbps, 1)]),
        ...peers.map((k) => r(w.iopsRatio[k])),
      ]),
    );
  }
  out.push('');

  out.push('## Latency seen by the client (µs; per run mean and p99 from a histogram, then median over rounds)');
  out.push('');
  out.push(
    header([
      'Workload',
      ...kinds.flatMap((k) => [`${k} mean`, `${k} p99`]),
      ...peers.map((k) => `tsgt/${k} mean`),
    ]),
  );
  for (const w of rep.summaries) {
    out.push(
      row([
        label.get(w.workload) ?? w.workload,
        ...kinds.flatMap((k) => [n(w.targets[k]?.lat_mean_us), n(w.targets[k]?.lat_p99_us)]),
        ...peers.map((k) => r(w.latRatio[k])),
      ]),
    );
  }
  out.push('');

  out.push('## Target CPU (process user+system over the measured window)');
  out.push('');
  out.push('µs of target CPU per I/O, and in brackets CPU time / wall time (1.00 = one core).');
  out.push('');
  out.push(
    header(['Workload', ...kinds.map((k) => `${k} µs/IO`), ...peers.map((k) => `tsgt/${k} CPU/IO`), 'other load (cores)']),
  );
  for (const w of rep.summaries) {
    out.push(
      row([
        label.get(w.workload) ?? w.workload,
        ...kinds.map((k) => `${n(w.targets[k]?.target_cpu_us_per_io, 1)} (${n(w.targets[k]?.target_cpu_util, 2)})`),
        ...peers.map((k) => r(w.cpuRatio[k])),
        kinds.map((k) => n(w.targets[k]?.other_cpu_util, 2)).join(' / '),
      ]),
    );
  }
  out.push('');
  out.push(
    `"other load" is machine CPU busy outside the target and the client during the window (${kinds.join(' / ')}): ` +
      'other jobs on the machine and the runner itself; high values mean that row is noisier.',
  );
  out.push('');
  const multi = rep.summaries.filter((w) => (rep.workloads.find((x) => x.id === w.workload)?.sessions ?? 1) > 1);
  if (multi.length > 0) {
    out.push('## Fairness between sessions');
    out.push('');
    out.push(
      "Per workload with several sessions: the slowest session's completed I/Os as a share of the mean per session, " +
        "and in brackets Jain's fairness index (1.00 = every session got the same; 1/n = one session got everything); medians over rounds.",
    );
    out.push('');
    out.push(header(['Workload', ...kinds.map((k) => `${k} min/mean (Jain)`)]));
    for (const w of multi) {
      out.push(
        row([
          label.get(w.workload) ?? w.workload,
          ...kinds.map((k) => `${n(w.targets[k]?.session_min_share, 2)} (${n(w.targets[k]?.session_jain, 3)})`),
        ]),
      );
    }
    out.push('');
  }
  const rss = kinds.map((k) => `${k} ${rep.peakRssKiB[k] !== undefined ? `${n(rep.peakRssKiB[k]! / 1024)} MiB` : '–'}`);
  out.push(`Peak resident memory of each target over the whole run: ${rss.join(', ')}.`);
  out.push('');

  if (rep.baseline) {
    const b = rep.baseline;
    const qd1 = rep.summaries.find((w) => w.workload === 'rr4k-qd1');
    const big = rep.summaries.find((w) => w.workload === 'sr1m-qd8');
    out.push('## Against the wire');
    out.push('');
    out.push(header(['Target', '4K QD1 mean latency / TCP 4K-shape RTT', '1 MiB seq read MB/s / TCP stream MB/s']));
    for (const k of kinds) {
      const lat = qd1?.targets[k]?.lat_mean_us;
      const mbps = big?.targets[k]?.mbps;
      out.push(
        row([
          k,
          lat !== undefined ? `${(lat / b.read4k_shape_rtt_us).toFixed(2)}×` : '–',
          mbps !== undefined ? `${((mbps / b.stream_mbps) * 100).toFixed(0)} %` : '–',
        ]),
      );
    }
    out.push('');
  }

  const bad = rep.runs.filter((x) => !x.ok || x.errors > 0 || x.stalled);
  out.push('## Errors, stalls, failed runs');
  out.push('');
  if (bad.length === 0) {
    out.push('None: every run completed with zero I/O errors and no stall.');
  } else {
    out.push(header(['Workload', 'Target', 'Round', 'Errors', 'Stalled', 'Note']));
    for (const x of bad) {
      out.push(row([x.workload, x.target, String(x.round + 1), String(x.errors), x.stalled ? 'yes' : 'no', (x.note ?? '').replace(/\|/g, '/').slice(0, 300)]));
    }
  }
  out.push('');
  const tsgtLog = (rep.targetLogTail.tsgt ?? '').split('\n').filter((l) => l.startsWith('{'));
  out.push(`tsgt log lines at level warn or above (last 16 KiB of its output): ${tsgtLog.length}.`);
  if (tsgtLog.length) {
    out.push('');
    out.push('```');
    for (const l of tsgtLog.slice(-10)) out.push(l.slice(0, 300));
    out.push('```');
  }
  out.push('');
  return out.join('\n');
}
