// Shared plumbing for the interop tests: free ports, temp dirs, a target that
// is always closed, bounded child processes, and tool checks that fail loudly.
// Everything here talks to loopback only.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statfsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { startTarget, type TargetServer } from '../../src/index.js';
import type { SaveConfig } from '../../src/index.js';
import type { Logger } from '../../src/index.js';

/** Repository root (this file runs from dist/test/integration/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A path under the repository root, e.g. repoPath('test/fixtures/integration/x.json'). */
export function repoPath(relative: string): string {
  return join(REPO_ROOT, relative);
}

/** Debian package that provides each external tool the tests call. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  'iscsi-ls': 'libiscsi-bin',
  'iscsi-inq': 'libiscsi-bin',
  'iscsi-readcapacity16': 'libiscsi-bin',
  'iscsi-test-cu': 'libiscsi-bin',
  'qemu-img': 'qemu-utils',
});

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Fails the calling test (never skips) when `name` is not on PATH. */
export function requireTool(name: string): string {
  const found = onPath(name);
  if (found === undefined) {
    const pkg = TOOL_PACKAGES[name] ?? name;
    assert.fail(`${name} not found on PATH: install ${pkg} (see .ci/run)`);
  }
  return found;
}

/** qemu's iSCSI block driver is a loadable module shipped in qemu-block-extra. */
export function requireQemuIscsi(): void {
  requireTool('qemu-img');
  const dirs = ['/usr/lib/qemu', '/usr/lib64/qemu'];
  try {
    for (const d of readdirSync('/usr/lib')) dirs.push(join('/usr/lib', d, 'qemu'));
  } catch {
    // no /usr/lib: fall through to the failure below
  }
  if (!dirs.some((d) => existsSync(join(d, 'block-iscsi.so')))) {
    assert.fail('qemu-img has no iSCSI block driver (block-iscsi.so): install qemu-block-extra (see .ci/run)');
  }
}

/** A TCP port that was free a moment ago: bind host:0, read the port, close. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = addr && typeof addr === 'object' ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error(`no port from ${host}:0`))));
    });
  });
}

/** Can this machine bind the IPv6 loopback? */
export async function hasIpv6Loopback(): Promise<boolean> {
  try {
    await freePort('::1');
    return true;
  } catch {
    return false;
  }
}

/** /dev/shm when it is a writable tmpfs: fileio LUNs there send Data-In by sendfile (FileExtent). */
export function memoryTempBase(): string | undefined {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return statfsSync('/dev/shm').type === TMPFS_MAGIC ? '/dev/shm' : undefined;
  } catch {
    return undefined;
  }
}
const TMPFS_MAGIC = 0x01021994;

/**
 * Runs fn with a fresh directory under os.tmpdir() (or, with `memory`, on
 * tmpfs when the machine has one), removed afterwards whatever happens.
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, options: { memory?: boolean } = {}): Promise<T> {
  const base = (options.memory ? memoryTempBase() : undefined) ?? tmpdir();
  if (options.memory && base === tmpdir()) console.log('no writable tmpfs at /dev/shm: the LUN file lives under', base);
  const dir = await mkdtemp(join(base, 'tsgt-it-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Logs to stderr when TSGT_TEST_LOG is set (debug|info|warn|error), silent otherwise. */
export function testLogger(): Logger | undefined {
  const level = process.env.TSGT_TEST_LOG;
  if (!level) return undefined;
  const order = ['debug', 'info', 'warn', 'error'];
  const min = Math.max(0, order.indexOf(level));
  const at = (lvl: string) => (fields: object, message: string) => {
    if (order.indexOf(lvl) >= min) process.stderr.write(`[tsgt ${lvl}] ${message} ${JSON.stringify(fields)}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Starts a target from `config`, runs fn, and always closes the target. */
export async function withTarget<T>(
  config: SaveConfig,
  fn: (server: TargetServer) => Promise<T>,
  options: { baseDir?: string; stateDir?: string } = {},
): Promise<T> {
  const logger = testLogger();
  const server = await startTarget(config, { ...(logger ? { logger } : {}), ...options });
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

export interface RunResult {
  /** Exit status; null when the process was killed (see signal / timedOut). */
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  maxBuffer?: number;
}

/** execFile with a hard timeout (SIGKILL); never rejects for a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve) => {
    const started = Date.now();
    execFile(
      cmd,
      args,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024,
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string; killed?: boolean }) | null;
        if (e && typeof e.code === 'string') {
          // spawn failure (ENOENT, EACCES): report it as a failed run, not an exception
          resolve({ code: 127, signal: null, timedOut: false, stdout: String(stdout), stderr: `${cmd}: ${e.message}` });
          return;
        }
        const signal = e?.signal ?? null;
        // execFile sets `killed` only when it sent the signal itself, i.e. on timeout
        const timedOut = e?.killed === true && Date.now() - started >= timeoutMs - 50;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal,
          timedOut,
          stdout: String(stdout),
          stderr: String(stderr),
        });
      },
    );
  });
}

/** One string for assertion messages: the command line and everything it printed. */
export function describeRun(cmd: string, args: readonly string[], r: RunResult): string {
  const status = r.timedOut ? 'timed out' : r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`;
  return `$ ${cmd} ${args.join(' ')}\n(${status})\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** Runs a command and asserts it exited 0; returns its stdout. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  assert.equal(r.code, 0, describeRun(cmd, args, r));
  return r.stdout;
}

/** A long-running child with its output collected. */
export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout matches; rejects on timeout or if the child exits first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Like waitFor, but resolves null if the child exits without a match. */
  waitForOrExit(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray | null>;
  /** Resolves with the exit status within timeoutMs, or rejects. */
  exited(timeoutMs: number): Promise<{ code: number | null; signal: string | null }>;
  /** SIGKILL if still running. */
  kill(): void;
}

type Exit = { code: number | null; signal: string | null };

export function spawnCollect(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Spawned {
  const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exit: Exit | undefined;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    changed();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    changed();
  });
  child.on('error', (e) => {
    err += `\n${cmd}: ${e.message}`;
    exit ??= { code: 127, signal: null };
    changed();
  });
  // 'close' (not 'exit'): all output has been read by then
  child.on('close', (code, signal) => {
    exit ??= { code, signal };
    changed();
  });

  /** Polls `check` on every change until it yields a value; `undefined` keeps waiting. */
  function until<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        listeners.delete(listener);
        f();
      };
      const listener = () => {
        try {
          const v = check();
          if (v !== undefined) finish(() => resolve(v));
        } catch (e) {
          finish(() => reject(e));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}`))),
        timeoutMs,
      );
      listeners.add(listener);
      listener();
    });
  }

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern, timeoutMs) =>
      until(
        () => {
          const m = out.match(pattern);
          if (m) return m;
          if (exit) throw new Error(`${cmd} exited (${JSON.stringify(exit)}) before stdout matched ${pattern}\nstdout:\n${out}\nstderr:\n${err}`);
          return undefined;
        },
        timeoutMs,
        `stdout to match ${pattern}`,
      ),
    waitForOrExit: (pattern, timeoutMs) =>
      until<RegExpMatchArray | null>(() => out.match(pattern) ?? (exit ? null : undefined), timeoutMs, `stdout to match ${pattern}`),
    exited: (timeoutMs) => until(() => exit, timeoutMs, 'exit'),
    kill() {
      if (exit === undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
