// A throw-away KVM/TCG guest running the Linux kernel's iSCSI initiator:
// finds a guest kernel, builds (once per kernel and script version) the
// initramfs of scripts/kernel-guest/, and boots qemu with the guest's only
// network path being a guestfwd relay to tsgt on the host's loopback.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describeRun, repoPath, run } from '../integration/harness.js';
import { parseConsole, type GuestConsole } from './console.js';

/** Where the guest reaches the target: qemu relays this address to the host (see relay.ts). */
export const GUEST_PORTAL = { ip: '10.0.2.100', port: 3260 };

const SBIN_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Absolute path of a host tool, or a failed assertion naming its Debian package. */
export function requireHostTool(name: string, pkg: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN_DIRS];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  assert.fail(`${name} not found: install ${pkg} (see .ci/run)`);
}

export interface GuestKernel {
  version: string;
  vmlinuz: string;
}

function versionKey(v: string): number[] {
  return v.split(/[^0-9]+/).filter(Boolean).map(Number);
}

function compareVersions(a: string, b: string): number {
  const x = versionKey(a);
  const y = versionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The newest /boot/vmlinuz-<v> whose modules are installed (TSGT_GUEST_KERNEL
 * picks a version). It is only booted inside qemu; the host's own kernel and
 * boot setup are never touched.
 */
export function findGuestKernel(): GuestKernel {
  const wanted = process.env.TSGT_GUEST_KERNEL;
  let versions: string[] = [];
  try {
    versions = readdirSync('/boot')
      .filter((f) => f.startsWith('vmlinuz-'))
      .map((f) => f.slice('vmlinuz-'.length))
      .filter((v) => existsSync(join('/lib/modules', v, 'modules.dep')));
  } catch {
    // no /boot
  }
  if (wanted) versions = versions.filter((v) => v === wanted);
  versions.sort(compareVersions);
  const version = versions.at(-1);
  if (version === undefined) {
    assert.fail(
      wanted
        ? `no /boot/vmlinuz-${wanted} with /lib/modules/${wanted}: install that kernel or unset TSGT_GUEST_KERNEL`
        : 'no guest kernel (/boot/vmlinuz-* with /lib/modules/*): install linux-image-amd64 (see .ci/run)',
    );
  }
  const vmlinuz = join('/boot', `vmlinuz-${version}`);
  try {
    accessSync(vmlinuz, constants.R_OK);
  } catch {
    assert.fail(`${vmlinuz} is not readable by this user`);
  }
  return { version, vmlinuz };
}

/**
 * The guest initramfs for `kernel`, built by scripts/kernel-guest/build-initramfs.sh
 * into os.tmpdir() and reused while the scripts, the kernel and the copied
 * host binaries are unchanged.
 */
export async function ensureInitramfs(kernel: GuestKernel): Promise<string> {
  const script = repoPath('scripts/kernel-guest/build-initramfs.sh');
  const init = repoPath('scripts/kernel-guest/init.sh');
  const h = createHash('sha256');
  h.update(readFileSync(script));
  h.update(readFileSync(init));
  h.update(kernel.version);
  for (const bin of ['iscsistart', 'iscsid', 'iscsiadm', 'mke2fs', 'e2fsck', 'busybox']) {
    for (const d of SBIN_DIRS) {
      const p = join(d, bin);
      if (existsSync(p)) {
        const st = statSync(p);
        h.update(`${p}:${st.size}:${st.mtimeMs}`);
        break;
      }
    }
  }
  const dir = join(tmpdir(), 'tsgt-kernel-guest');
  const prefix = `initramfs-${kernel.version}-`;
  const name = `${prefix}${h.digest('hex').slice(0, 16)}.cpio.gz`;
  const out = join(dir, name);
  if (existsSync(out)) return out;
  const args = [script, kernel.version, out];
  const r = await run('bash', args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `building the guest initramfs failed\n${describeRun('bash', args, r)}`);
  // Builds from older scripts or binaries are never used again.
  for (const f of readdirSync(dir)) {
    if (f.startsWith(prefix) && f.endsWith('.cpio.gz') && f !== name) rmSync(join(dir, f), { force: true });
  }
  return out;
}

export type Accel = 'kvm' | 'tcg';

/**
 * kvm when /dev/kvm can run a stock kernel, with tcg as the fallback; the
 * TSGT_GUEST_ACCEL environment variable (kvm|tcg) forces one. A host whose
 * KVM is the PVM flavour (module kvm_pvm, nested virtualisation in some
 * sandboxes) only runs PVM-enabled guest kernels: a stock Debian kernel hangs
 * in its decompressor there, so such hosts go straight to tcg.
 */
export function accelerators(): Accel[] {
  const forced = process.env.TSGT_GUEST_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return [forced];
  let kvm = false;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    kvm = !existsSync('/sys/module/kvm_pvm');
  } catch {
    kvm = false;
  }
  return kvm ? ['kvm', 'tcg'] : ['tcg'];
}

export interface BootOptions {
  kernel: GuestKernel;
  initrd: string;
  /** tsgt.<key>=<value> kernel parameters read by the guest's /init. */
  params: Record<string, string>;
  /** The host port tsgt listens on (127.0.0.1). */
  targetPort: number;
  timeoutMs: number;
  /** Called with each console line as it arrives (e.g. to time the steps). */
  onLine?: (line: string) => void;
}

export interface GuestRun {
  accel: Accel;
  /** Everything the guest printed, \r removed. */
  console: string;
  parsed: GuestConsole;
  /** qemu's stderr. */
  stderr: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  ms: number;
  /** What happened to earlier accelerators that were given up on. */
  notes: string[];
}

// A guest that has not run /init by then is not going to (see accelerators()).
const KVM_BOOT_DEADLINE_MS = 30_000;

function kernelParam(key: string, value: string): string {
  if (!/^[A-Za-z0-9._:@=+\/-]+$/.test(value)) throw new Error(`tsgt.${key}: '${value}' cannot go on a kernel command line`);
  return `tsgt.${key}=${value}`;
}

function qemuArgs(o: BootOptions, accel: Accel): string[] {
  const relay = repoPath('dist/test/kernel/relay.js');
  // restrict=on: the guest can reach nothing but the guestfwd address, which
  // qemu connects (one relay process per connection) to tsgt on 127.0.0.1.
  // qemu splits the option at ',' and the command at spaces.
  for (const p of [process.execPath, relay]) assert.ok(!/[,\s]/.test(p), `qemu's guestfwd cannot take the path '${p}'`);
  const fwd = `guestfwd=tcp:${GUEST_PORTAL.ip}:${GUEST_PORTAL.port}-cmd:${process.execPath} --no-warnings ${relay} 127.0.0.1 ${o.targetPort}`;
  const append = [
    'console=ttyS0',
    'panic=-1',
    'quiet',
    ...Object.entries({ portal: GUEST_PORTAL.ip, port: String(GUEST_PORTAL.port), ...o.params }).map(([k, v]) => kernelParam(k, v)),
  ].join(' ');
  return [
    '-accel', accel,
    '-m', '512',
    '-smp', '1',
    '-display', 'none',
    '-nodefaults',
    '-no-user-config',
    '-serial', 'stdio',
    '-no-reboot',
    '-kernel', o.kernel.vmlinuz,
    '-initrd', o.initrd,
    '-netdev', `user,id=n0,restrict=on,${fwd}`,
    '-device', 'virtio-net-pci,netdev=n0',
    '-append', append,
  ];
}

interface Attempt {
  run: GuestRun;
  /** kvm gave no sign of life in time: try the next accelerator. */
  stalled: boolean;
}

function bootOnce(qemu: string, o: BootOptions, accel: Accel, notes: string[]): Promise<Attempt> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(qemu, qemuArgs(o, accel), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let timedOut = false;
    let stalled = false;
    let booted = false;
    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs);
    const stallTimer =
      accel === 'kvm'
        ? setTimeout(() => {
            if (!booted) {
              stalled = true;
              kill();
            }
          }, KVM_BOOT_DEADLINE_MS)
        : undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        if (line.includes('TSGT-STEP boot ok')) booted = true;
        o.onLine?.(line);
      }
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const finish = (exitCode: number | null, signal: string | null): void => {
      clearTimeout(timer);
      if (stallTimer) clearTimeout(stallTimer);
      const text = stdout.replace(/\r/g, '');
      resolve({
        stalled,
        run: {
          accel,
          console: text,
          parsed: parseConsole(text),
          stderr,
          exitCode,
          signal,
          timedOut: timedOut && !stalled,
          ms: Date.now() - started,
          notes,
        },
      });
    };
    child.on('error', (err) => {
      stderr += `spawn ${qemu}: ${err.message}\n`;
      finish(127, null);
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/**
 * Boots the guest and resolves when qemu has exited (the guest powers off
 * after its verdict). qemu is killed on the timeout and whenever this
 * returns early; a kvm guest that shows no sign of life is retried on tcg.
 */
export async function bootGuest(o: BootOptions): Promise<GuestRun> {
  const qemu = requireHostTool('qemu-system-x86_64', 'qemu-system-x86');
  assert.ok(existsSync(repoPath('dist/test/kernel/relay.js')), 'dist/test/kernel/relay.js is missing: build with tsc first');
  const notes: string[] = [];
  const accels = accelerators();
  for (const [i, accel] of accels.entries()) {
    const attempt = await bootOnce(qemu, o, accel, notes);
    if (!attempt.stalled) return attempt.run;
    const next = accels[i + 1];
    notes.push(`${accel}: no output from /init within ${KVM_BOOT_DEADLINE_MS} ms, qemu killed${next ? `; retrying with ${next}` : ''}`);
    if (!next) return attempt.run;
  }
  throw new Error('unreachable: no accelerator');
}

/** The last `n` lines of a text, for assertion messages. */
export function tail(text: string, n: number): string {
  const lines = text.split('\n');
  return lines.slice(Math.max(0, lines.length - n)).join('\n');
}
