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
  /** Measured I/Os of the slowest session / the mean per session (1 with one session). */
  session_min_share: number;
  /** Jain's fairness index over the sessions' I/O counts: 1 = all equal, 1/n = one session got everything. */
  session_jain: number;
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
    await execFileP('gcc', [
      '-O2',
      '-Wall',
      '-o',
      bins.iscsiBench,
      join(src, 'iscsi-bench.c'),
      join(src, 'bench-session.c'),
      '-liscsi',
    ]);
    await execFileP('gcc', ['-O2', '-Wall', '-o', bins.tcpBaseline, join(src, 'tcp-baseline.c')]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`compiling the benchmark client failed (${hint}):\n${e.stderr ?? e.message}`);
  }
  return bins;
}

export interface ClientRun {
  result?: ClientResult;
  /** Set when the client process is gone or was killed. */
  failure?: string;
  stderr: string;
}

export interface RunOptions {
  duration: number;
  warmup: number;
  seed: number;
  /** Called when the client enters and leaves its measured window. */
  onMeasureStart: () => void;
  onMeasureEnd: () => void;
}

/**
 * One iscsi-bench process in --serve mode: its sessions log in once and serve
 * every workload of the matrix for one target. After a run with errors, a
 * stall or a lost session the process exits and `alive()` turns false.
 */
export interface BenchClient {
  alive(): boolean;
  run(w: Workload, o: RunOptions): Promise<ClientRun>;
  close(): Promise<void>;
}

interface Pending {
  o: RunOptions;
  resolve: (r: ClientRun) => void;
  timer: NodeJS.Timeout;
}

/** Start a persistent client with `sessions` logged-in sessions; rejects if login fails. */
export async function startClient(
  bin: string,
  url: string,
  sessions: number,
  stall: number,
  signal: AbortSignal,
): Promise<BenchClient> {
  // `signal` kills the client even while it is still logging in.
  const child = spawn(bin, ['--url', url, '--sessions', String(sessions), '--stall', String(stall), '--serve'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    signal,
  });
  child.on('error', () => {
    // abort or spawn failure: 'close' follows and reports it
  });
  let stderr = '';
  let partial = '';
  let exited: string | undefined;
  let pending: Pending | undefined;
  let onReady: ((err?: Error) => void) | undefined;
  const takeStderr = () => {
    const s = stderr.trim();
    stderr = '';
    return s;
  };
  const settle = (r: ClientRun) => {
    if (!pending) return;
    clearTimeout(pending.timer);
    const p = pending;
    pending = undefined;
    p.resolve(r);
  };
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString('utf8');
  });
  child.stdout.on('data', (d: Buffer) => {
    partial += d.toString('utf8');
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.startsWith('#ready')) onReady?.();
      else if (line === '#measure-start') pending?.o.onMeasureStart();
      else if (line === '#measure-end') pending?.o.onMeasureEnd();
      else if (line.startsWith('{')) {
        try {
          settle({ result: JSON.parse(line) as ClientResult, stderr: takeStderr() });
        } catch {
          settle({ failure: `unparsable client output: ${line.slice(0, 200)}`, stderr: takeStderr() });
        }
      }
    }
  });
  child.stdin.on('error', () => {
    // the exit handler reports the failure
  });
  const exitedP = new Promise<void>((resolve) => {
    child.once('close', (code, signal) => {
      exited = signal ? `client killed by ${signal}` : `client exited with status ${code}`;
      onReady?.(new Error(`${exited}: ${takeStderr()}`));
      settle({ failure: exited, stderr: takeStderr() });
      resolve();
    });
  });
  // Logins are bounded by the client itself (30 s + 2 s per session).
  await new Promise<void>((resolve, reject) => {
    onReady = (err) => {
      onReady = undefined;
      if (err) reject(err);
      else resolve();
    };
  });
  return {
    alive: () => exited === undefined,
    run: (w, o) =>
      new Promise<ClientRun>((resolve) => {
        if (exited !== undefined) {
          resolve({ failure: exited, stderr: '' });
          return;
        }
        // Warm-up + run + drain + stall window, with slack; then the client is killed.
        const timer = setTimeout(() => child.kill('SIGKILL'), (o.warmup + o.duration + stall + 30) * 1000);
        pending = { o, resolve, timer };
        child.stdin.write(
          `run ${w.rw} ${w.pattern} ${w.bs} ${w.qd} ${w.sessions} ${o.duration} ${o.warmup} ${o.seed}\n`,
        );
      }),
    close: async () => {
      if (exited !== undefined) return;
      child.stdin.end('quit\n');
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exitedP;
      clearTimeout(t);
    },
  };
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
