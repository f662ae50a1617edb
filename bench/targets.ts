// Start and stop the three targets under comparison on loopback, each on its
// own 1 GiB file in /dev/shm, each as a separate process so its CPU time can
// be read from /proc/<pid>/stat.
//
// Equivalent settings everywhere (RFC 7143 §13 keys): MaxRecvDataSegmentLength
// 262144, MaxBurstLength 1048576, FirstBurstLength 262144, MaxOutstandingR2T 1,
// ImmediateData Yes, InitialR2T Yes (istgt 0.4 refuses "InitialR2T No", and
// InitialR2T is an OR function, so Yes is the only value all three share),
// digests None, 128 commands per session in the CmdSN window.

import { execFile } from 'node:child_process';
import { openSync, writeSync, closeSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SaveConfig } from '../src/config/model.js';
import { type Proc, freePort, portAccepts, spawnLogged, waitFor, stopProc, which } from './proc.js';

const execFileP = promisify(execFile);

export type TargetKind = 'tsgt' | 'tgt' | 'istgt';
export const TARGET_KINDS: readonly TargetKind[] = ['tsgt', 'tgt', 'istgt'];

/** Login keys offered by every target (strings as they appear in configs). */
export const TARGET_PARAMS = Object.freeze({
  MaxRecvDataSegmentLength: '262144',
  MaxXmitDataSegmentLength: '262144',
  MaxBurstLength: '1048576',
  FirstBurstLength: '262144',
  MaxOutstandingR2T: '1',
  InitialR2T: 'Yes',
  ImmediateData: 'Yes',
  HeaderDigest: 'None',
  DataDigest: 'None',
});
/** BENCH_TSGT_BUSY_POLL (µs) overrides tsgt's busy_poll setting; unset: tsgt's default. */
function tsgtBusyPoll(): { busy_poll?: number } {
  const v = process.env.BENCH_TSGT_BUSY_POLL;
  return v === undefined || v === '' ? {} : { busy_poll: Number(v) };
}

export const TARGET_QUEUE_DEPTH = 128;
export const LUN_BYTES = 1024 * 1024 * 1024;

export interface RunningTarget {
  kind: TargetKind;
  /** libiscsi URL of the benchmark LUN. */
  url: string;
  pid: number;
  /** Backing file in /dev/shm. */
  file: string;
  /** true while the process has not exited. */
  alive(): boolean;
  /** Exit code/signal text once it has exited. */
  exitInfo(): string | undefined;
  /** Last few KiB of the process's stdout+stderr, for diagnosis. */
  logTail(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Repository root (where dist/src/cli/main.js lives). */
  repoRoot: string;
  /** Private scratch directory for configs. */
  workDir: string;
  /** Name prefix for the /dev/shm files. */
  shmPrefix: string;
}

/** Fill the backing file with non-zero data so no target reads tmpfs holes. */
export function createBackingFile(path: string, bytes: number): void {
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  const fd = openSync(path, 'w', 0o600);
  try {
    for (let off = 0; off < bytes; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - off), off);
  } finally {
    closeSync(fd);
  }
}

function handle(kind: TargetKind, url: string, file: string, p: Proc, stop: () => Promise<void>): RunningTarget {
  return {
    kind,
    url,
    pid: p.child.pid!,
    file,
    alive: () => p.exited() === undefined,
    exitInfo: () => p.exited(),
    logTail: () => p.tail(),
    stop,
  };
}

async function startTsgt(o: StartOptions, track: (p: Proc) => void): Promise<RunningTarget> {
  const port = await freePort();
  const file = backingPath(o, 'tsgt');
  createBackingFile(file, LUN_BYTES);
  const iqn = 'iqn.2025-01.org.tsgt.bench:tsgt';
  const config: SaveConfig = {
    fabric_modules: [],
    storage_objects: [
      {
        plugin: 'fileio',
        name: 'bench',
        dev: file,
        size: LUN_BYTES,
        write_back: true,
        attributes: { block_size: 512, emulate_write_cache: 1 },
      },
    ],
    targets: [
      {
        fabric: 'iscsi',
        wwn: iqn,
        tpgs: [
          {
            tag: 1,
            enable: true,
            attributes: { authentication: 0, generate_node_acls: 1, cache_dynamic_acls: 1, demo_mode_write_protect: 0 },
            parameters: { ...TARGET_PARAMS },
            portals: [{ ip_address: '127.0.0.1', port }],
            luns: [{ index: 0, storage_object: '/backstores/fileio/bench' }],
            node_acls: [],
          },
        ],
      },
    ],
    tsgt: { version: 1, log_level: 'warn', queue_depth: TARGET_QUEUE_DEPTH, ...tsgtBusyPoll() },
  };
  const cfgPath = join(o.workDir, 'tsgt-saveconfig.json');
  writeFileSync(cfgPath, JSON.stringify(config, null, 2));
  // Started as `npm start` starts it: plain node, no V8 flags.
  const p = spawnLogged(process.execPath, [join(o.repoRoot, 'dist/src/cli/main.js'), 'serve', '--config', cfgPath], o.workDir);
  track(p);
  await waitFor('tsgt', p, async () => p.tail().includes('tsgt serving'));
  return handle('tsgt', `iscsi://127.0.0.1:${port}/${iqn}/0`, file, p, () => stopProc(p));
}

async function startTgt(o: StartOptions, track: (p: Proc) => void): Promise<RunningTarget> {
  const port = await freePort();
  // tgtd's management socket is a UNIX socket named after this number; keep it private.
  // tgtd accepts control ports up to 32767.
  const control = 1024 + (process.pid % 31000);
  const file = backingPath(o, 'tgt');
  createBackingFile(file, LUN_BYTES);
  const iqn = 'iqn.2025-01.org.tsgt.bench:tgt';
  const p = spawnLogged('tgtd', ['-f', '-C', String(control), '--iscsi', `portal=127.0.0.1:${port}`], o.workDir);
  track(p);
  const adm = async (...args: string[]) => execFileP('tgtadm', ['-C', String(control), '--lld', 'iscsi', ...args]);
  await waitFor('tgtd', p, async () => {
    try {
      await adm('--op', 'show', '--mode', 'target');
      return true;
    } catch {
      return false;
    }
  });
  await adm('--op', 'new', '--mode', 'target', '--tid', '1', '-T', iqn);
  // LUN 0 of a tgt target is its controller; the disk is LUN 1.
  await adm('--op', 'new', '--mode', 'logicalunit', '--tid', '1', '--lun', '1', '-b', file);
  await adm('--op', 'bind', '--mode', 'target', '--tid', '1', '-I', 'ALL');
  for (const [k, v] of Object.entries(TARGET_PARAMS)) {
    await adm('--op', 'update', '--mode', 'target', '--tid', '1', '--name', k, '--value', v);
  }
  await adm('--op', 'update', '--mode', 'target', '--tid', '1', '--name', 'MaxQueueCmd', '--value', String(TARGET_QUEUE_DEPTH));
  await waitFor('tgtd portal', p, () => portAccepts(port));
  const stop = async () => {
    if (p.exited()) return;
    // tgtd ignores SIGTERM while it has targets; its own shutdown is `--mode system --op delete`.
    try {
      await adm('--op', 'delete', '--mode', 'target', '--tid', '1', '--force');
      await execFileP('tgtadm', ['-C', String(control), '--mode', 'system', '--op', 'delete']);
    } catch {
      // stopProc below ends it regardless (SIGKILL after 5 s)
    }
    await stopProc(p);
  };
  return handle('tgt', `iscsi://127.0.0.1:${port}/${iqn}/1`, file, p, stop);
}

function istgtConf(o: StartOptions, port: number, ucPort: number, file: string): string {
  const P = TARGET_PARAMS;
  return `# generated by tsgt bench
[Global]
  NodeBase "iqn.2025-01.org.tsgt.bench"
  PidFile ${join(o.workDir, 'istgt.pid')}
  AuthFile ${join(o.workDir, 'istgt-auth.conf')}
  MediaDirectory ${o.workDir}
  LogFacility "local7"
  Timeout 30
  NopInInterval 20
  DiscoveryAuthMethod None
  MaxSessions 128
  MaxConnections 1
  MaxR2T 32
  MaxOutstandingR2T ${P.MaxOutstandingR2T}
  DefaultTime2Wait 2
  DefaultTime2Retain 20
  FirstBurstLength ${P.FirstBurstLength}
  MaxBurstLength ${P.MaxBurstLength}
  MaxRecvDataSegmentLength ${P.MaxRecvDataSegmentLength}
  InitialR2T ${P.InitialR2T}
  ImmediateData ${P.ImmediateData}
  DataPDUInOrder Yes
  DataSequenceInOrder Yes
  ErrorRecoveryLevel 0

[UnitControl]
  AuthMethod None
  Portal UC1 127.0.0.1:${ucPort}
  Netmask 127.0.0.1

[PortalGroup1]
  Portal DA1 127.0.0.1:${port}

[InitiatorGroup1]
  InitiatorName "ALL"
  Netmask 127.0.0.0/8

[LogicalUnit1]
  TargetName istgt
  Mapping PortalGroup1 InitiatorGroup1
  AuthMethod None
  UseDigest Auto
  UnitType Disk
  QueueDepth ${TARGET_QUEUE_DEPTH}
  LUN0 Storage ${file} Auto
`;
}

async function startIstgt(o: StartOptions, track: (p: Proc) => void): Promise<RunningTarget> {
  const port = await freePort();
  const ucPort = await freePort();
  const file = backingPath(o, 'istgt');
  createBackingFile(file, LUN_BYTES);
  const conf = join(o.workDir, 'istgt.conf');
  writeFileSync(conf, istgtConf(o, port, ucPort, file));
  // istgt insists on an AuthFile even with AuthMethod None.
  writeFileSync(join(o.workDir, 'istgt-auth.conf'), '[AuthGroup1]\n  Auth "bench" "benchsecret12"\n', { mode: 0o600 });
  const p = spawnLogged('istgt', ['-c', conf, '-D'], o.workDir);
  track(p);
  await waitFor('istgt', p, () => portAccepts(port));
  return handle('istgt', `iscsi://127.0.0.1:${port}/iqn.2025-01.org.tsgt.bench:istgt/0`, file, p, () => stopProc(p));
}

function backingPath(o: StartOptions, kind: TargetKind): string {
  return `/dev/shm/${o.shmPrefix}-${kind}.img`;
}

/** Start one target; on failure nothing is left behind (process killed, backing file removed). */
export async function startBenchTarget(kind: TargetKind, o: StartOptions): Promise<RunningTarget> {
  const spawned: Proc[] = [];
  const track = (p: Proc) => spawned.push(p);
  try {
    switch (kind) {
      case 'tsgt':
        return await startTsgt(o, track);
      case 'tgt':
        return await startTgt(o, track);
      case 'istgt':
        return await startIstgt(o, track);
    }
  } catch (err) {
    await Promise.allSettled(spawned.map((p) => stopProc(p, 'SIGKILL')));
    rmSync(backingPath(o, kind), { force: true });
    throw err;
  }
}

/** Stop a target and remove its backing file. */
export async function disposeTarget(t: RunningTarget): Promise<void> {
  await t.stop();
  rmSync(t.file, { force: true });
}

/** Which executables each target needs, and the Debian package that has them. */
export const TARGET_PACKAGES: Readonly<Record<TargetKind, { bins: string[]; pkg?: string }>> = Object.freeze({
  tsgt: { bins: [] },
  tgt: { bins: ['tgtd', 'tgtadm'], pkg: 'tgt' },
  istgt: { bins: ['istgt'], pkg: 'istgt' },
});

/** apt-get install the peer targets that are missing; returns the kinds still unavailable. */
export async function ensurePeers(kinds: readonly TargetKind[], log: (s: string) => void): Promise<TargetKind[]> {
  const missing: TargetKind[] = [];
  for (const k of kinds) {
    for (const b of TARGET_PACKAGES[k].bins) {
      if (!(await which(b))) {
        missing.push(k);
        break;
      }
    }
  }
  if (missing.length === 0) return [];
  const pkgs = missing.map((k) => TARGET_PACKAGES[k].pkg!).filter(Boolean);
  log(`installing ${pkgs.join(' ')} with apt-get (benchmark-only peers)`);
  try {
    await execFileP('apt-get', ['update', '-qq'], { maxBuffer: 1 << 24 });
    await execFileP('apt-get', ['install', '-y', '-qq', ...pkgs], {
      maxBuffer: 1 << 24,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (err) {
    log(`apt-get failed: ${(err as Error).message.split('\n')[0]}`);
  }
  const still: TargetKind[] = [];
  for (const k of missing) {
    for (const b of TARGET_PACKAGES[k].bins) {
      if (!(await which(b))) {
        still.push(k);
        break;
      }
    }
  }
  return still;
}
