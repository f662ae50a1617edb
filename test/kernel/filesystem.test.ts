// The Linux kernel's iSCSI initiator (iscsi_tcp + open-iscsi) against tsgt,
// inside a qemu guest because the host kernel has no SCSI: SendTargets
// discovery, CHAP logins, mkfs.ext4, mount, write, sync, umount, e2fsck -n,
// remount, read back, logout. The guest's /init is
// scripts/kernel-guest/init.sh; it reports on the serial console and the
// host checks both that and the backing file afterwards.
// Needs qemu-system-x86 linux-image-amd64 busybox-static open-iscsi
// e2fsprogs kmod cpio (see .ci/run); TSGT_GUEST_ACCEL=kvm|tcg forces an
// accelerator, TSGT_TEST_LOG=debug echoes tsgt's log to stderr,
// TSGT_GUEST_CONSOLE_DIR=<dir> keeps each guest's console there.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTarget, type Logger, type SaveConfig, type SessionInfo } from '../../src/index.js';
import { freePort, withTempDir } from '../integration/harness.js';
import { detailValue, stepDetails } from './console.js';
import { bootGuest, ensureInitramfs, findGuestKernel, requireHostTool, tail, type GuestRun } from './guest.js';
import { EXT4_MAGIC, hostFsck, imageFileSha256, listImageDir, readImageFile, superblockMagic } from './ext4-image.js';

const MIB = 1024 * 1024;
const LUN_BYTES = 256 * MIB;
const THIN_ALLOCATED_LIMIT = 40 * MIB;
const GUEST_TIMEOUT_MS = 240_000;
const T = { timeout: GUEST_TIMEOUT_MS + 60_000 };

const TARGET_IQN = 'iqn.2025-01.org.tsgt:kernel';
const GUEST_IQN = 'iqn.2025-01.org.tsgt:linux-guest';
// CHAP secrets of 12+ bytes (RFC 7143 §12.1.3); kernel-command-line safe.
const CHAP = {
  user: 'linux-guest',
  secret: 'GuestSecret2025',
  targetUser: 'tsgt-target',
  targetSecret: 'TargetSecret2025',
  discoveryUser: 'discovery',
  discoverySecret: 'DiscoverySecret1',
};

/** What /init prints, in order, for each mode. */
const STEPS_ISCSIADM = [
  'boot', 'modules', 'network', 'iscsid', 'discovery', 'badchap', 'badmutual', 'login', 'disk', 'mkfs', 'mount', 'write',
  'umount', 'logout', 'relogin', 'fsck', 'remount', 'read', 'umount2', 'logout2',
];
const STEPS_ISCSISTART = [
  'boot', 'modules', 'network', 'login', 'disk', 'mkfs', 'mount', 'write', 'trim', 'umount', 'fsck', 'remount', 'read',
  'umount2', 'logout2',
];

/**
 * One fileio LUN, CHAP required (authentication=1) and only the guest's
 * explicit node ACL admitted (generate_node_acls=0); discovery sessions need
 * CHAP too.
 */
function kernelConfig(dir: string, port: number, thin: boolean): SaveConfig {
  return {
    storage_objects: [
      {
        plugin: 'fileio',
        name: 'disk0',
        dev: join(dir, 'disk0.img'),
        size: LUN_BYTES,
        write_back: true,
        wwn: '5f0c1c7e-2b8a-4f6e-9d2a-6c1f3b7a9e41',
        // rtslib's thin-provisioning switches: UNMAP and WRITE SAME with UNMAP punch holes.
        attributes: thin ? { emulate_tpu: 1, emulate_tpws: 1 } : { emulate_tpu: 0, emulate_tpws: 0 },
      },
    ],
    targets: [
      {
        fabric: 'iscsi',
        wwn: TARGET_IQN,
        tpgs: [
          {
            tag: 1,
            enable: true,
            attributes: { authentication: 1, generate_node_acls: 0, demo_mode_write_protect: 0, cache_dynamic_acls: 0 },
            parameters: { MaxRecvDataSegmentLength: '262144' },
            portals: [{ ip_address: '127.0.0.1', port }],
            luns: [{ index: 0, storage_object: '/backstores/fileio/disk0' }],
            node_acls: [
              {
                node_wwn: GUEST_IQN,
                chap_userid: CHAP.user,
                chap_password: CHAP.secret,
                chap_mutual_userid: CHAP.targetUser,
                chap_mutual_password: CHAP.targetSecret,
                mapped_luns: [{ index: 0, tpg_lun: 0, write_protect: false }],
              },
            ],
          },
        ],
      },
    ],
    fabric_modules: [
      { name: 'iscsi', discovery_enable_auth: true, discovery_userid: CHAP.discoveryUser, discovery_password: CHAP.discoverySecret },
    ],
  };
}

interface LogEntry {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every entry (and echoes them when TSGT_TEST_LOG is set). */
function captureLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const echo = process.env.TSGT_TEST_LOG !== undefined && process.env.TSGT_TEST_LOG !== '';
  const at = (level: string) => (fields: object, message: string) => {
    entries.push({ level, message, fields: fields as Record<string, unknown> });
    if (echo) process.stderr.write(`[tsgt ${level}] ${message} ${JSON.stringify(fields)}\n`);
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, entries };
}

interface Outcome {
  run: GuestRun;
  log: LogEntry[];
  /** Every session seen in server.sessions() while the guest ran, by TSIH. */
  seen: Map<number, SessionInfo>;
  /** server.sessions() once the guest had powered off. */
  after: SessionInfo[];
  port: number;
  /** The steps' arrival times, ms after qemu started. */
  timeline: string;
  diag: string;
}

interface Scenario {
  mode: 'iscsiadm' | 'iscsistart';
  digest: 'None' | 'CRC32C';
  bigMiB: number;
  /** A thin LUN, and the guest deletes a 32 MiB file and runs fstrim. */
  thin: boolean;
}

/**
 * Starts tsgt, boots the guest against it and, once qemu has exited and the
 * target is closed, hands the outcome to `check` and then checks the backing
 * file from the host.
 */
async function runScenario(s: Scenario, check: (o: Outcome) => Promise<void>): Promise<void> {
  // Every tool first, so a missing one fails with its package's name.
  requireHostTool('qemu-system-x86_64', 'qemu-system-x86');
  requireHostTool('debugfs', 'e2fsprogs');
  requireHostTool('e2fsck', 'e2fsprogs');
  const kernel = findGuestKernel();
  const initrd = await ensureInitramfs(kernel);
  await withTempDir(async (dir) => {
    const port = await freePort();
    const { logger, entries } = captureLogger();
    const server = await startTarget(kernelConfig(dir, port, s.thin), { logger });
    const seen = new Map<number, SessionInfo>();
    const poll = setInterval(() => {
      for (const si of server.sessions()) seen.set(si.tsih, si);
    }, 100);
    const started = Date.now();
    const nonce = `n${started.toString(36)}`;
    const marks: string[] = [];
    let run: GuestRun;
    let after: SessionInfo[];
    try {
      run = await bootGuest({
        kernel,
        initrd,
        targetPort: port,
        timeoutMs: GUEST_TIMEOUT_MS,
        params: {
          mode: s.mode,
          target: TARGET_IQN,
          initiator: GUEST_IQN,
          user: CHAP.user,
          secret: CHAP.secret,
          tuser: CHAP.targetUser,
          tsecret: CHAP.targetSecret,
          duser: CHAP.discoveryUser,
          dsecret: CHAP.discoverySecret,
          digest: s.digest,
          nonce,
          bigmb: String(s.bigMiB),
          trim: s.thin ? '1' : '0',
        },
        onLine: (line) => {
          const m = /TSGT-(?:STEP (\S+) ok|RESULT (\S+))/.exec(line);
          if (m) marks.push(`${m[1] ?? m[2]}@${((Date.now() - started) / 1000).toFixed(1)}s`);
        },
      });
      for (const si of server.sessions()) seen.set(si.tsih, si);
      after = server.sessions();
    } finally {
      clearInterval(poll);
      await server.close();
    }
    const keep = process.env.TSGT_GUEST_CONSOLE_DIR;
    if (keep) {
      await mkdir(keep, { recursive: true });
      await writeFile(join(keep, `${s.mode}-${started}.log`), run.console);
    }
    const diag = [
      `accel=${run.accel} exit=${run.exitCode} signal=${run.signal} timedOut=${run.timedOut} ${run.ms} ms`,
      ...run.notes,
      `steps: ${marks.join(' ')}`,
      '--- guest console (tail) ---',
      tail(run.console, 120),
      '--- qemu stderr ---',
      tail(run.stderr, 20),
      '--- tsgt log (tail) ---',
      tail(entries.map((e) => `${e.level} ${e.message} ${JSON.stringify(e.fields)}`).join('\n'), 40),
    ].join('\n');
    await check({ run, log: entries, seen, after, port, timeline: marks.join(' '), diag });
    await checkImage(join(dir, 'disk0.img'), dir, nonce, stepDetails(run.parsed, 'write'), diag);
    if (s.thin) {
      // What stays allocated: 16 MiB of big.bin, the journal and metadata (~26 MiB
      // measured); without working UNMAP the deleted 32 MiB junk.bin adds to it.
      const allocated = (await stat(join(dir, 'disk0.img'))).blocks * 512;
      assert.ok(allocated < THIN_ALLOCATED_LIMIT, `backing file has ${allocated} bytes allocated after fstrim, want < ${THIN_ALLOCATED_LIMIT}\n${diag}`);
    }
  });
}

/** The guest's own verdict and its steps, in order. */
function assertGuestPassed(o: Outcome, steps: readonly string[]): void {
  assert.equal(o.run.timedOut, false, `the guest did not finish in ${GUEST_TIMEOUT_MS} ms\n${o.diag}`);
  assert.deepEqual(o.run.parsed.result, { pass: true }, o.diag);
  assert.deepEqual(
    o.run.parsed.steps.map((x) => x.name),
    steps,
    o.diag,
  );
  assert.equal(detailValue(stepDetails(o.run.parsed, 'disk'), 'size'), String(LUN_BYTES), o.diag);
  assert.equal(stepDetails(o.run.parsed, 'login'), 'TSGT', `SCSI vendor seen by the guest\n${o.diag}`);
  const wrote = detailValue(stepDetails(o.run.parsed, 'write'), 'sha256');
  assert.match(wrote ?? '', /^[0-9a-f]{64}$/, o.diag);
  assert.equal(detailValue(stepDetails(o.run.parsed, 'read'), 'sha256'), wrote, o.diag);
}

/** Host side: the guest's sessions were live while it ran, and all gone once it logged out. */
function assertSessions(o: Outcome, minNormal: number): void {
  const normal = [...o.seen.values()].filter((s) => s.type === 'Normal');
  assert.ok(normal.length >= minNormal, `server.sessions() showed ${normal.length} Normal session(s), want ≥ ${minNormal}\n${o.diag}`);
  for (const s of normal) {
    assert.equal(s.initiatorName, GUEST_IQN, o.diag);
    assert.equal(s.targetName, TARGET_IQN, o.diag);
    assert.equal(s.tpgt, 1, o.diag);
  }
  assert.deepEqual(o.after, [], `sessions left after the guest logged out\n${o.diag}`);
}

function logins(o: Outcome, type: 'Normal' | 'Discovery'): LogEntry[] {
  return o.log.filter((e) => e.message === 'login complete' && e.fields.type === type);
}

function assertNoTargetErrors(o: Outcome): void {
  const bad = o.log.filter((e) => e.level === 'error' || e.level === 'warn');
  assert.deepEqual(bad, [], `tsgt logged warnings/errors\n${o.diag}`);
}

/** The backing file holds the guest's ext4 filesystem and files, read without any initiator. */
async function checkImage(image: string, scratch: string, nonce: string, write: string | undefined, diag: string): Promise<void> {
  assert.equal(await superblockMagic(image), EXT4_MAGIC, `no ext4 superblock magic at byte 1080 of the LUN\n${diag}`);
  const fsck = await hostFsck(image);
  assert.equal(fsck.code, 0, `host e2fsck -fn of the backing file:\n${fsck.stdout}${fsck.stderr}\n${diag}`);
  assert.equal(await readImageFile(image, '/hello.txt'), `hello from the kernel initiator ${nonce}\n`);
  const names = await listImageDir(image, '/dir');
  assert.equal(names.length, 200, `files in /dir: ${names.join(' ')}`);
  assert.equal(await readImageFile(image, '/dir/f137'), `small file 137 ${nonce}\n`);
  const sum = detailValue(write, 'sha256');
  assert.equal(await imageFileSha256(image, '/big.bin', scratch), sum, 'big.bin in the backing file');
  assert.equal((await readImageFile(image, '/big.sha256')).trim(), sum);
}

function report(t: TestContext, o: Outcome): void {
  t.diagnostic(`accel=${o.run.accel} guest ${o.run.ms} ms: ${o.timeline}`);
  for (const n of o.run.notes) t.diagnostic(n);
}

test(
  'kernel initiator (iscsid/iscsiadm): CHAP discovery, wrong secrets refused both ways, mutual CHAP login, ext4 round trip across logout/login',
  T,
  async (t) => {
    await runScenario({ mode: 'iscsiadm', digest: 'None', bigMiB: 16, thin: false }, async (o) => {
      report(t, o);
      assertGuestPassed(o, STEPS_ISCSIADM);
      assert.ok(
        o.run.parsed.discovered.includes(`127.0.0.1:${o.port},1 ${TARGET_IQN}`),
        `SendTargets answer: ${JSON.stringify(o.run.parsed.discovered)}\n${o.diag}`,
      );
      assertSessions(o, 2);
      assertNoTargetErrors(o);
      const disc = logins(o, 'Discovery');
      assert.equal(disc.length, 1, o.diag);
      assert.equal(disc[0].fields.initiator, GUEST_IQN);
      // The wrong-secret attempt: Login Response 02/01, authentication failure (RFC 7143 §11.13.5).
      const rejected = o.log.filter((e) => e.message === 'login rejected');
      assert.deepEqual(rejected.map((e) => e.fields.status), ['2/1'], o.diag);
      const normal = logins(o, 'Normal');
      assert.equal(normal.length, 2, o.diag);
      for (const e of normal) {
        assert.equal(e.fields.initiator, GUEST_IQN);
        assert.equal(e.fields.hd, false);
        assert.equal(e.fields.dd, false);
      }
      // Both sessions ended with a Logout, not a dropped connection.
      assert.equal(o.log.filter((e) => e.message === 'logout').length, 2, o.diag);
    });
  },
);

test(
  'kernel initiator (iscsistart, as at iSCSI boot): mutual CHAP, CRC32C header+data digests, thin LUN with fstrim, ext4 round trip, iscsid takeover and logout',
  T,
  async (t) => {
    await runScenario({ mode: 'iscsistart', digest: 'CRC32C', bigMiB: 16, thin: true }, async (o) => {
      report(t, o);
      assertGuestPassed(o, STEPS_ISCSISTART);
      // The kernel saw a thin LUN (VPD B0h/B2h) and its fstrim went through.
      const trim = stepDetails(o.run.parsed, 'trim');
      assert.ok(['unmap', 'writesame_16'].includes(detailValue(trim, 'mode') ?? ''), `sd provisioning_mode: ${trim}\n${o.diag}`);
      assert.ok(Number(detailValue(trim, 'trimmed')) >= 32 * MIB, `fstrim: ${trim}\n${o.diag}`);
      assertSessions(o, 1);
      assertNoTargetErrors(o);
      assert.equal(logins(o, 'Discovery').length, 0, o.diag);
      const normal = logins(o, 'Normal');
      // iscsid may re-login while it adopts iscsistart's session: one or two logins.
      assert.ok(normal.length >= 1 && normal.length <= 2, o.diag);
      for (const e of normal) {
        assert.equal(e.fields.initiator, GUEST_IQN);
        assert.equal(e.fields.hd, true, `HeaderDigest=CRC32C not in effect\n${o.diag}`);
        assert.equal(e.fields.dd, true, `DataDigest=CRC32C not in effect\n${o.diag}`);
      }
      assert.equal(o.log.filter((e) => e.message === 'logout').length, 1, o.diag);
    });
  },
);
