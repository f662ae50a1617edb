// `npm run bench`: tsgt vs tgt vs istgt on loopback, side by side, as ratios.
//
// Environment:
//   BENCH_ROUNDS    rounds per workload and target (default 3)
//   BENCH_DURATION  measured seconds per run (default 3)
//   BENCH_WARMUP    warm-up seconds per run (default 1)
//   BENCH_STALL     seconds without any completion that count as a stall (default 10)
//   BENCH_TARGETS   comma list of tsgt,tgt,istgt (default all three)
//   BENCH_WORKLOADS comma list of workload ids (default all; see WORKLOADS)
//   BENCH_TSGT_BUSY_POLL  tsgt's busy_poll in µs (default: tsgt's own default)
// Writes dist/bench/results.json and dist/bench/results.md and prints the markdown.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir, cpus, availableParallelism, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  TARGET_KINDS,
  TARGET_PARAMS,
  TARGET_QUEUE_DEPTH,
  type TargetKind,
  type RunningTarget,
  startBenchTarget,
  disposeTarget,
  ensurePeers,
} from './targets.js';
import { processCpuMicros, processPeakRssKiB, machineCpuMicros, clockTicksPerSecond } from './proc.js';
import {
  buildBinaries,
  startClient,
  runTcpBaseline,
  type BenchClient,
  type Workload,
  type TcpBaseline,
} from './client.js';
import { summariseWorkload, median, type RunRecord } from './stats.js';
import { renderMarkdown, type BenchReport, type MachineInfo } from './report.js';

const execFileP = promisify(execFile);

const KiB = 1024;
const MiB = 1024 * 1024;

export const WORKLOADS: readonly Workload[] = Object.freeze([
  { id: 'rr4k-qd1', label: '4 KiB random read, QD1', rw: 'read', pattern: 'rand', bs: 4 * KiB, qd: 1, sessions: 1 },
  { id: 'rr4k-qd32', label: '4 KiB random read, QD32', rw: 'read', pattern: 'rand', bs: 4 * KiB, qd: 32, sessions: 1 },
  { id: 'rw4k-qd32', label: '4 KiB random write, QD32', rw: 'write', pattern: 'rand', bs: 4 * KiB, qd: 32, sessions: 1 },
  { id: 'sr64k-qd8', label: '64 KiB sequential read, QD8', rw: 'read', pattern: 'seq', bs: 64 * KiB, qd: 8, sessions: 1 },
  { id: 'sr1m-qd8', label: '1 MiB sequential read, QD8', rw: 'read', pattern: 'seq', bs: MiB, qd: 8, sessions: 1 },
  { id: 'sw1m-qd8', label: '1 MiB sequential write, QD8', rw: 'write', pattern: 'seq', bs: MiB, qd: 8, sessions: 1 },
  // Session scaling of 4 KiB random read QD32: 1 session is rr4k-qd32 above.
  { id: 'rr4k-qd32-s4', label: '4 KiB random read, QD32 × 4 sessions', rw: 'read', pattern: 'rand', bs: 4 * KiB, qd: 32, sessions: 4 },
  { id: 'rr4k-qd32-s16', label: '4 KiB random read, QD32 × 16 sessions', rw: 'read', pattern: 'rand', bs: 4 * KiB, qd: 32, sessions: 16 },
  { id: 'rr4k-qd32-s64', label: '4 KiB random read, QD32 × 64 sessions', rw: 'read', pattern: 'rand', bs: 4 * KiB, qd: 32, sessions: 64 },
]);

function envNum(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(v)}`);
  return x;
}

function envList(name: string): string[] | undefined {
  const v = process.env[name];
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

function medianBaseline(xs: readonly TcpBaseline[]): TcpBaseline | null {
  if (xs.length === 0) return null;
  const m = (f: (b: TcpBaseline) => number) => median(xs.map(f));
  return {
    pingpong48_rtt_us: m((b) => b.pingpong48_rtt_us),
    pingpong48_ops: m((b) => b.pingpong48_ops),
    read4k_shape_rtt_us: m((b) => b.read4k_shape_rtt_us),
    read4k_shape_ops: m((b) => b.read4k_shape_ops),
    stream_mbps: m((b) => b.stream_mbps),
    seconds_per_test: xs[0].seconds_per_test,
  };
}

function log(s: string): void {
  process.stderr.write(`bench: ${s}\n`);
}

async function versionOf(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args);
    return (stdout || stderr).trim().split('\n')[0];
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return ((e.stdout || e.stderr || '?').trim().split('\n')[0]) || '?';
  }
}

async function machineInfo(): Promise<MachineInfo> {
  const pkg = async (p: string) => versionOf('dpkg-query', ['-W', '-f=${Version}', p]);
  let ownVersion = '?';
  try {
    ownVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    // keep '?'
  }
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model.trim() ?? '?',
    nproc: availableParallelism(),
    memGiB: totalmem() / 1024 ** 3,
    kernel: release(),
    node: process.version,
    versions: {
      tsgt: ownVersion,
      tgt: await pkg('tgt'),
      istgt: await pkg('istgt'),
      libiscsi: await pkg('libiscsi7'),
    },
  };
}

async function measure(
  t: RunningTarget,
  client: BenchClient | string,
  w: Workload,
  round: number,
  o: { duration: number; warmup: number; clkTck: number },
): Promise<RunRecord> {
  const base: RunRecord = {
    workload: w.id,
    target: t.kind,
    round,
    ok: false,
    iops: 0,
    mbps: 0,
    lat_mean_us: 0,
    lat_p99_us: 0,
    lat_max_us: 0,
    target_cpu_us_per_io: null,
    target_cpu_util: null,
    client_cpu_s: 0,
    other_cpu_util: null,
    errors: 0,
    stalled: false,
    session_min_share: null,
    session_jain: null,
  };
  if (!t.alive()) return { ...base, note: `target not running (${t.exitInfo()})` };
  if (typeof client === 'string') return { ...base, note: `no client: ${client}` };
  let cpu0: number | undefined;
  let cpu1: number | undefined;
  let wall0 = 0;
  let wall1 = 0;
  let sys0: { busy: number; total: number } | undefined;
  let sys1: { busy: number; total: number } | undefined;
  const run = await client.run(w, {
    duration: o.duration,
    warmup: o.warmup,
    seed: 0x5eed + round * 7919,
    onMeasureStart: () => {
      cpu0 = processCpuMicros(t.pid, o.clkTck);
      sys0 = machineCpuMicros(o.clkTck);
      wall0 = performance.now();
    },
    onMeasureEnd: () => {
      cpu1 = processCpuMicros(t.pid, o.clkTck);
      sys1 = machineCpuMicros(o.clkTck);
      wall1 = performance.now();
    },
  });
  const res = run.result;
  if (!res) {
    const why = `${run.failure ?? 'no result'}: ${run.stderr.split('\n').slice(-3).join(' / ')}`;
    return { ...base, note: t.alive() ? why : `${why}; target ${t.exitInfo()}` };
  }
  const cpu = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
  const wallUs = (wall1 - wall0) * 1000;
  const other =
    cpu !== undefined && sys0 && sys1 && wallUs > 0
      ? Math.max(0, (sys1.busy - sys0.busy - cpu - res.client_cpu_s * 1e6) / wallUs)
      : null;
  const notes: string[] = [];
  if (res.first_error) notes.push(res.first_error);
  if (res.dead_sessions) notes.push(`${res.dead_sessions} session(s) dropped`);
  if (run.stderr) notes.push(run.stderr.split('\n').slice(-2).join(' / '));
  if (!t.alive()) notes.push(`target ${t.exitInfo()}`);
  return {
    ...base,
    ok: res.ios > 0 && res.seconds > 0 && res.errors === 0 && !res.stalled,
    iops: res.iops,
    mbps: res.mbps,
    lat_mean_us: res.lat_mean_us,
    lat_p99_us: res.lat_p99_us,
    lat_max_us: res.lat_max_us,
    target_cpu_us_per_io: cpu !== undefined && res.ios > 0 ? cpu / res.ios : null,
    target_cpu_util: cpu !== undefined && wallUs > 0 ? cpu / wallUs : null,
    client_cpu_s: res.client_cpu_s,
    other_cpu_util: other,
    errors: res.errors,
    stalled: res.stalled,
    session_min_share: typeof res.session_min_share === 'number' ? res.session_min_share : null,
    session_jain: typeof res.session_jain === 'number' ? res.session_jain : null,
    ...(notes.length ? { note: notes.join('; ') } : {}),
  };
}

export async function main(): Promise<number> {
  const started = performance.now();
  const rounds = Math.round(envNum('BENCH_ROUNDS', 3));
  const duration = envNum('BENCH_DURATION', 3);
  const warmup = process.env.BENCH_WARMUP === '0' ? 0 : envNum('BENCH_WARMUP', 1);
  const stall = envNum('BENCH_STALL', 10);
  const wantTargets = (envList('BENCH_TARGETS') ?? [...TARGET_KINDS]) as TargetKind[];
  for (const k of wantTargets) if (!TARGET_KINDS.includes(k)) throw new Error(`unknown target ${k} in BENCH_TARGETS`);
  const wantWl = envList('BENCH_WORKLOADS');
  const workloads = wantWl ? WORKLOADS.filter((w) => wantWl.includes(w.id)) : [...WORKLOADS];
  if (workloads.length === 0) throw new Error(`BENCH_WORKLOADS matched nothing; ids: ${WORKLOADS.map((w) => w.id).join(', ')}`);

  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  const outDir = join(repoRoot, 'dist/bench');
  mkdirSync(outDir, { recursive: true });
  const bins = await buildBinaries(repoRoot, outDir);
  const clkTck = await clockTicksPerSecond();

  const excluded: { target: TargetKind; reason: string }[] = [];
  const unavailable = await ensurePeers(wantTargets, log);
  for (const k of unavailable) excluded.push({ target: k, reason: 'not installed and apt-get install failed' });

  // Loopback is noisy on a shared machine: sample it once per round, report medians.
  const baselines: TcpBaseline[] = [];
  const sampleBaseline = async () => {
    try {
      baselines.push(await runTcpBaseline(bins.tcpBaseline, 1));
    } catch (err) {
      log(`TCP baseline failed: ${(err as Error).message}`);
    }
  };

  const workDir = mkdtempSync(join(tmpdir(), 'tsgt-bench-'));
  const shmPrefix = `tsgt-bench-${process.pid}`;
  const running: RunningTarget[] = [];
  // One persistent client per target, logged in once with as many sessions as
  // the largest workload needs; restarted after a failed run, given up on
  // after two failed logins in a row.
  const maxSessions = Math.max(...workloads.map((w) => w.sessions));
  const clients = new Map<TargetKind, BenchClient>();
  const loginFailures = new Map<TargetKind, string[]>();
  const abortClients = new AbortController();
  const clientFor = async (t: RunningTarget): Promise<BenchClient | string> => {
    const c = clients.get(t.kind);
    if (c?.alive()) return c;
    if (!t.alive()) return `target not running (${t.exitInfo()})`;
    const failed = loginFailures.get(t.kind) ?? [];
    if (failed.length >= 2) return `client login failed twice: ${failed[failed.length - 1]}`;
    try {
      const fresh = await startClient(bins.iscsiBench, t.url, maxSessions, stall, abortClients.signal);
      clients.set(t.kind, fresh);
      loginFailures.delete(t.kind);
      return fresh;
    } catch (err) {
      loginFailures.set(t.kind, [...failed, (err as Error).message]);
      return (err as Error).message;
    }
  };
  const cleanup = async () => {
    await Promise.allSettled([...clients.values()].map((c) => c.close()));
    abortClients.abort();
    await Promise.allSettled(running.map((t) => disposeTarget(t)));
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping targets`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const records: RunRecord[] = [];
  const peakRssKiB: Partial<Record<TargetKind, number>> = {};
  const targetLogTail: Partial<Record<TargetKind, string>> = {};
  try {
    for (const k of wantTargets) {
      if (unavailable.includes(k)) continue;
      log(`starting ${k}`);
      try {
        running.push(await startBenchTarget(k, { repoRoot, workDir, shmPrefix }));
      } catch (err) {
        const msg = (err as Error).message;
        log(`${k} failed to start: ${msg}`);
        excluded.push({ target: k, reason: `failed to start: ${msg.split('\n')[0]}` });
      }
    }
    if (!running.some((t) => t.kind === 'tsgt')) throw new Error('tsgt is not running; nothing to compare');
    const kinds = running.map((t) => t.kind);
    const total = rounds * workloads.length * running.length;
    const perRun = warmup + duration + 0.3;

    log(`logging ${maxSessions} session(s) in to each target (istgt accepts about one connection per second)`);
    const first = await Promise.all(running.map((t) => clientFor(t)));
    first.forEach((c, i) => {
      if (typeof c === 'string') log(`${running[i].kind}: client login failed: ${c}`);
    });
    log(`${total} runs, about ${Math.ceil((total * perRun) / 60)} min`);

    let done = 0;
    for (let round = 0; round < rounds; round++) {
      log(`round ${round + 1}: loopback TCP baseline`);
      await sampleBaseline();
      for (const w of workloads) {
        // Rotate who goes first so no target always runs right after the same peer.
        const order = running.map((_, i) => running[(i + round) % running.length]);
        for (const t of order) {
          const t0 = performance.now();
          const rec = await measure(t, await clientFor(t), w, round, { duration, warmup, clkTck });
          const took = (performance.now() - t0) / 1000;
          records.push(rec);
          done++;
          log(
            `[${done}/${total}] r${round + 1} ${w.id} ${t.kind}: ${rec.ok ? '' : 'FAILED '}` +
              `${rec.iops.toFixed(0)} IOPS ${rec.mbps.toFixed(1)} MB/s mean ${rec.lat_mean_us.toFixed(0)} µs ` +
              `p99 ${rec.lat_p99_us.toFixed(0)} µs cpu/io ${rec.target_cpu_us_per_io?.toFixed(1) ?? '-'} µs` +
              ` [${took.toFixed(1)} s]` +
              (rec.note ? ` (${rec.note})` : ''),
          );
        }
      }
    }
    for (const t of running) {
      const rss = processPeakRssKiB(t.pid);
      if (rss !== undefined) peakRssKiB[t.kind] = rss;
      targetLogTail[t.kind] = t.logTail();
      if (!t.alive()) log(`${t.kind} is no longer running: ${t.exitInfo()}`);
    }

    const report: BenchReport = {
      machine: await machineInfo(),
      settings: {
        rounds,
        durationS: duration,
        warmupS: warmup,
        stallS: stall,
        targets: kinds,
        excluded,
        loginKeys: { ...TARGET_PARAMS },
        queueDepthPerSession: TARGET_QUEUE_DEPTH,
        backing:
          '1 GiB file per target in /dev/shm (tmpfs), pre-filled; tsgt fileio write_back=true, tgt rdwr, istgt file LU with write cache on; 512-byte blocks; ' +
          `tsgt busy_poll ${process.env.BENCH_TSGT_BUSY_POLL ? `${process.env.BENCH_TSGT_BUSY_POLL} µs` : 'default (adaptive, up to 100 µs after each read)'}, the C targets sleep in epoll/poll`,
        client:
          'bench/c/iscsi-bench.c on libiscsi 1.19 async API (READ16/WRITE16 with caller iovecs, one poll loop: the sessions of the workload every turn, starting one session further each turn so none is always serviced last, the idle rest every 100 ms); ' +
          'libiscsi offers MaxRecvDataSegmentLength=FirstBurstLength=MaxBurstLength=262144, ImmediateData=Yes, HeaderDigest=None; ' +
          `one client process per target logs in ${Math.max(...workloads.map((w) => w.sessions))} sessions once and keeps them for the whole matrix ` +
          '(a workload uses its first k sessions, the rest stay idle but serviced); random offsets are uniform over the whole LUN, ' +
          'sequential streams start at 1/k-th of the LUN per session',
      },
      baseline: medianBaseline(baselines),
      baselineSamples: baselines,
      workloads,
      summaries: workloads.map((w) => summariseWorkload(w.id, records, kinds)),
      runs: records,
      peakRssKiB,
      targetLogTail,
      wallSeconds: (performance.now() - started) / 1000,
    };
    const md = renderMarkdown(report);
    writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(outDir, 'results.md'), md);
    process.stdout.write(md);
    log(`wrote ${join(outDir, 'results.md')} and results.json`);
    return 0;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
