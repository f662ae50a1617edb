// Process plumbing for the benchmark: spawning with a log tail, readiness
// polling, graceful stop, and CPU/memory readings from /proc (proc(5)).

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** utime+stime of a whole process (all threads) in microseconds, or undefined if it is gone. */
export function processCpuMicros(pid: number, clkTck: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // proc(5): fields after the parenthesised comm; utime and stime are fields 14 and 15.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1e6) / clkTck;
}

/** Peak resident set (VmHWM) in KiB, or undefined. */
export function processPeakRssKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU time of the whole machine in microseconds (proc(5) /proc/stat "cpu" line). */
export function machineCpuMicros(clkTck: number): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy: (busy * 1e6) / clkTck, total: ((busy + idle + iowait) * 1e6) / clkTck };
  } catch {
    return undefined;
  }
}

export async function clockTicksPerSecond(): Promise<number> {
  try {
    const { stdout } = await execFileP('getconf', ['CLK_TCK']);
    const n = Number(stdout.trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export async function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Proc {
  child: ChildProcess;
  tail: () => string;
  exited: () => string | undefined;
}

export function spawnLogged(cmd: string, args: string[], cwd: string): Proc {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const buf: string[] = [];
  let size = 0;
  let exit: string | undefined;
  const keep = (d: Buffer) => {
    buf.push(d.toString('utf8'));
    size += d.length;
    while (size > 16384 && buf.length > 1) size -= buf.shift()!.length;
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('exit', (code, signal) => {
    exit = signal ? `killed by ${signal}` : `exit code ${code}`;
  });
  child.once('error', (err) => {
    exit = `spawn error: ${err.message}`;
  });
  return { child, tail: () => buf.join(''), exited: () => exit };
}

export async function waitFor(what: string, p: Proc, check: () => Promise<boolean>, ms = 15000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (p.exited()) throw new Error(`${what} exited during start-up (${p.exited()}):\n${p.tail()}`);
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`${what} did not become ready in ${ms} ms:\n${p.tail()}`);
}

export async function stopProc(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.exited() || p.child.pid === undefined) return;
  const done = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

export async function which(bin: string): Promise<boolean> {
  try {
    await execFileP('sh', ['-c', `command -v ${bin}`]);
    return true;
  } catch {
    return false;
  }
}

