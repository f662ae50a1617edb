// Build and drive the C load generator (bench/c/iscsi-bench.c) and the
// loopback TCP baseline (bench/c/tcp-baseline.c).

import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface Workload {
  id: string;
  label: string;
  rw: 'read' | 'write';
  pattern: 'rand' | 'seq';
  bs: number;
  qd: number;
  sessions: number;
}

/** One JSON line from iscsi-bench. */
export interface ClientResult {
  rw: string;
  pattern: string;
  bs: number;
  qd: number;
  sessions: number;
  block_len: number;
  seconds: number;
  ios: number;
  bytes: number;
  iops: number;
  mbps: number;
  lat_mean_us: number;
  lat_p50_us: number;
  lat_p99_us: number;
  lat_p999_us: number;
  lat_max_us: number;
  client_cpu_s: number;
  errors: number;
  dead_sessions: number;
  stalled: boolean;
  first_error: string;
}

export interface Binaries {
  iscsiBench: string;
  tcpBaseline: string;
}

/** Compile both C programs into outDir; throws with an install hint when the toolchain is missing. */
export async function buildBinaries(repoRoot: string, outDir: string): Promise<Binaries> {
  const hint = 'the benchmark client needs gcc and libiscsi headers: apt-get install libiscsi-dev gcc';
  try {
    await execFileP('gcc', ['--version']);
  } catch {
    throw new Error(`gcc not found; ${hint}`);
  }
  if (!existsSync('/usr/include/iscsi/iscsi.h')) throw new Error(`libiscsi headers not found; ${hint}`);
  const src = join(repoRoot, 'bench/c');
  const bins: Binaries = { iscsiBench: join(outDir, 'iscsi-bench'), tcpBaseline: join(outDir, 'tcp-baseline') };
  try {
    await execFileP('gcc', ['-O2', '-Wall', '-o', bins.iscsiBench, join(src, 'iscsi-bench.c'), '-liscsi']);
    await execFileP('gcc', ['-O2', '-Wall', '-o', bins.tcpBaseline, join(src, 'tcp-baseline.c')]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`compiling the benchmark client failed (${hint}):\n${e.stderr ?? e.message}`);
  }
  return bins;
}

export interface ClientRun {
  result?: ClientResult;
  exitCode: number | null;
  stderr: string;
}

export interface RunOptions {
  duration: number;
  warmup: number;
  stall: number;
  seed: number;
  /** Called when the client enters and leaves its measured window. */
  onMeasureStart: () => void;
  onMeasureEnd: () => void;
}

/** Run one workload against one URL; never rejects (failures come back in the record). */
export async function runClient(bin: string, url: string, w: Workload, o: RunOptions): Promise<ClientRun> {
  const args = [
    '--url', url,
    '--rw', w.rw,
    '--pattern', w.pattern,
    '--bs', String(w.bs),
    '--qd', String(w.qd),
    '--sessions', String(w.sessions),
    '--duration', String(o.duration),
    '--warmup', String(o.warmup),
    '--stall', String(o.stall),
    '--seed', String(o.seed),
  ];
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line === '#measure-start') o.onMeasureStart();
        else if (line === '#measure-end') o.onMeasureEnd();
        else out += `${line}\n`;
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 8192) err += d.toString('utf8');
    });
    // Hard bound: login of many sessions + warm-up + run + drain + stall window.
    const limitMs = (o.warmup + o.duration + o.stall + 60) * 1000;
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      const json = out.split('\n').reverse().find((l) => l.startsWith('{'));
      let result: ClientResult | undefined;
      if (json) {
        try {
          result = JSON.parse(json) as ClientResult;
        } catch {
          result = undefined;
        }
      }
      resolve({ result, exitCode: code, stderr: err.trim() });
    });
  });
}

export interface TcpBaseline {
  pingpong48_rtt_us: number;
  pingpong48_ops: number;
  read4k_shape_rtt_us: number;
  read4k_shape_ops: number;
  stream_mbps: number;
  seconds_per_test: number;
}

export async function runTcpBaseline(bin: string, seconds: number): Promise<TcpBaseline> {
  const { stdout } = await execFileP(bin, [String(seconds)], { timeout: (seconds * 3 + 20) * 1000 });
  return JSON.parse(stdout.trim()) as TcpBaseline;
}
