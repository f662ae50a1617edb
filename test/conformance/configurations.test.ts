// libiscsi's iscsi-test-cu against five more LUN configurations, all run at
// the same time (each has its own target and port), each with
// `--dataloss --allow-sanitize`:
//
//   thin       thin fileio LUN (emulate_tpu=1, emulate_tpws=1): UNMAP, GET LBA
//              STATUS, WRITE SAME with UNMAP, SANITIZE BLOCK ERASE
//   readonly   a thin LUN write-protected for the initiator
//              (demo_mode_write_protect=1): the ReadOnly suite and the suites
//              that only read
//   removable  a thin LUN with a removable medium (attributes.removable=1),
//              stored encrypted (attributes.encryption=1): PreventAllow,
//              StartStopUnit, NoMedia, SANITIZE CRYPTOGRAPHIC ERASE
//   multipath  a fully provisioned LUN behind two portals, 127.0.0.1 and
//              [::1] (a second IPv4 portal when the machine has no IPv6
//              loopback): MultipathIO
//   physical4k a thin LUN of 512-byte logical blocks in 4096-byte physical
//              blocks (attributes.physical_block_size=4096, READ CAPACITY
//              (16) LBPPBE=3): the tests that need LBPPB >= 2
//              (CompareAndWrite/WriteSame10/16.InvalidDataOutSize,
//              WriteSame10/16.UnmapUnaligned) and the whole suite again with
//              eight blocks per physical block
//
// SANITIZE is paced at 10 MiB/s (attributes.sanitize_mib_per_sec) so that a
// sanitize of the 64 MiB LUN lasts about 6 s: Sanitize.Reset checks that the
// operation is still running 3 s after it started and again after a
// reconnect, then waits for it in 60 s steps.
//
// Judgement, per configuration: a failure must be listed in known-failures.txt
// (every configuration) or known-failures-configs.txt; a skip must be listed
// in expected-skips.txt (with why it is not tsgt's to fix); at least
// `minPassed` tests pass.
//
// Environment:
//   TSGT_CONFORMANCE_CONFIGS   comma-separated subset of the names above, or "none"
//   TSGT_CONFORMANCE_VERBOSE=1 copy iscsi-test-cu's output to stderr as it runs
// Results: dist/conformance-<name>-results.json and dist/conformance-<name>-output.txt.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SaveConfig } from '../../src/index.js';
import { freePort, hasIpv6Loopback, repoPath, requireTool, withTarget, withTempDir } from '../integration/harness.js';
import { MIB, basicConfig, lunUrl, tpgOf } from '../integration/configs.js';
import { parseKnownFailures } from './cunit-output.js';
import { entriesFor, judge, runIscsiTestCu, summaryLines, why, writeArtifacts, type CuRun, type Verdict } from './run-cu.js';

const RUN_TIMEOUT_MS = 6 * 60_000;
const SANITIZE_MIB_PER_SEC = 10;
const LUN_BYTES = 64 * MIB;

interface Portal {
  host: string;
  port: number;
}

interface Configuration {
  readonly name: string;
  readonly summary: string;
  /** -t selection. */
  readonly selection: string;
  readonly minPassed: number;
  portals(): Promise<Portal[]>;
  build(dir: string, portals: Portal[]): SaveConfig;
}

/** basicConfig on the given portals, with storage attributes merged in. */
function lun(dir: string, portals: Portal[], attributes: Record<string, number>, tpgAttributes: Record<string, number> = {}): SaveConfig {
  const [first, ...rest] = portals;
  const config = basicConfig({
    dir,
    port: first.port,
    size: LUN_BYTES,
    extraPortals: rest.map((p) => ({ ip_address: p.host, port: p.port })),
    tpgAttributes,
  });
  config.storage_objects[0].attributes = { sanitize_mib_per_sec: SANITIZE_MIB_PER_SEC, ...attributes };
  tpgOf(config).portals[0].ip_address = first.host;
  return config;
}

const onePortal = async (): Promise<Portal[]> => [{ host: '127.0.0.1', port: await freePort() }];

// What a write-protected LUN must pass: ReadOnly (every medium write gets DATA
// PROTECT, WRITE PROTECTED — it needs UNMAP, hence a thin LUN), the suites
// that only read, and the SANITIZE tests that never reach the medium (CDB
// checks, reservation conflicts, write protection).
const READ_ONLY_SELECTION = [
  'SCSI.ReadOnly',
  'SCSI.Inquiry',
  'SCSI.ModeSense6',
  'SCSI.Read6',
  'SCSI.Read10',
  'SCSI.Read12',
  'SCSI.Read16',
  'SCSI.ReadCapacity10',
  'SCSI.ReadCapacity16',
  'SCSI.ReadDefectData10',
  'SCSI.ReadDefectData12',
  'SCSI.ReportSupportedOpcodes',
  'SCSI.Reserve6',
  'SCSI.TestUnitReady',
  'SCSI.Verify10',
  'SCSI.Verify12',
  'SCSI.Verify16',
  'SCSI.Prefetch10',
  'SCSI.Prefetch16',
  'SCSI.GetLBAStatus.Simple',
  'SCSI.GetLBAStatus.BeyondEol',
  'SCSI.Sanitize.BlockEraseReserved',
  'SCSI.Sanitize.CryptoEraseReserved',
  'SCSI.Sanitize.OverwriteReserved',
  'SCSI.Sanitize.ExitFailureMode',
  'SCSI.Sanitize.InvalidServiceAction',
  'SCSI.Sanitize.Readonly',
  'SCSI.Sanitize.Reservations',
].join(',');

const THIN = { emulate_tpu: 1, emulate_tpws: 1 };

const CONFIGURATIONS: readonly Configuration[] = [
  {
    name: 'thin',
    summary: 'thin fileio LUN (emulate_tpu=1, emulate_tpws=1)',
    selection: 'ALL',
    minPassed: 200,
    portals: onePortal,
    build: (dir, portals) => lun(dir, portals, THIN),
  },
  {
    name: 'readonly',
    summary: 'write-protected thin LUN (TPG demo_mode_write_protect=1)',
    selection: READ_ONLY_SELECTION,
    minPassed: 85,
    portals: onePortal,
    build: (dir, portals) => lun(dir, portals, THIN, { demo_mode_write_protect: 1 }),
  },
  {
    name: 'removable',
    summary: 'removable-medium encrypted thin LUN (attributes.removable=1, encryption=1)',
    selection: 'ALL',
    minPassed: 210,
    portals: onePortal,
    build: (dir, portals) => lun(dir, portals, { ...THIN, removable: 1, encryption: 1 }),
  },
  {
    name: 'multipath',
    summary: 'fully provisioned LUN through two portals (127.0.0.1 and [::1])',
    selection: 'ALL',
    minPassed: 195,
    async portals() {
      const v4 = { host: '127.0.0.1', port: await freePort() };
      if (await hasIpv6Loopback()) return [v4, { host: '::1', port: await freePort('::1') }];
      return [v4, { host: '127.0.0.1', port: await freePort() }];
    },
    build: (dir, portals) => lun(dir, portals, {}),
  },
  {
    name: 'physical4k',
    summary: 'thin LUN, 512-byte logical blocks in 4096-byte physical blocks (attributes.physical_block_size=4096)',
    selection: 'ALL',
    minPassed: 205,
    portals: onePortal,
    build: (dir, portals) => lun(dir, portals, { ...THIN, block_size: 512, physical_block_size: 4096 }),
  },
];

const VERBOSE = process.env.TSGT_CONFORMANCE_VERBOSE === '1';
const SELECTED = (process.env.TSGT_CONFORMANCE_CONFIGS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
const ACTIVE = SELECTED.length === 0 ? CONFIGURATIONS : CONFIGURATIONS.filter((c) => SELECTED.includes(c.name));

interface Outcome {
  readonly config: Configuration;
  readonly result: CuRun;
  readonly verdict: Verdict;
  readonly urls: readonly string[];
}

async function runConfiguration(config: Configuration): Promise<Outcome> {
  const [globalKnown, configKnown, skipList] = await Promise.all([
    readFile(repoPath('test/conformance/known-failures.txt'), 'utf8'),
    readFile(repoPath('test/conformance/known-failures-configs.txt'), 'utf8'),
    readFile(repoPath('test/conformance/expected-skips.txt'), 'utf8'),
  ]);
  const known = [...parseKnownFailures(globalKnown), ...entriesFor(configKnown, config.name)];
  const skips = entriesFor(skipList, config.name);
  return withTempDir(async (dir) => {
    const portals = await config.portals();
    const urls = portals.map((p) => lunUrl(p.port, 0, {}, undefined, p.host));
    // A state directory for every run: an encrypted LUN keeps its key there (withTarget hands its options to startTarget).
    const startOptions = { baseDir: dir, stateDir: join(dir, 'state') };
    return withTarget(config.build(dir, portals), async () => {
      const result = await runIscsiTestCu({
        urls,
        selection: config.selection,
        allowSanitize: true,
        timeoutMs: RUN_TIMEOUT_MS,
        echoPrefix: VERBOSE ? `[${config.name}] ` : undefined,
      });
      const verdict = judge(result.tests, known, skips);
      await writeArtifacts(repoPath(`dist/conformance-${config.name}-output.txt`), repoPath(`dist/conformance-${config.name}-results.json`), result, {
        configuration: config.name,
        summary: config.summary,
        selection: config.selection,
        unexpectedFailures: verdict.unexpectedFailures.map((t) => t.name),
        knownFailures: verdict.knownFailures.map((t) => t.name),
        unexplainedSkips: verdict.unexplainedSkips.map((t) => t.name),
        skipped: result.tests.filter((t) => t.status === 'skipped').map((t) => ({ name: t.name, why: why(t) })),
      });
      return { config, result, verdict, urls };
    }, startOptions);
  });
}

function report(o: Outcome): string {
  const { config, result, verdict } = o;
  const lines = summaryLines(`[${config.name}] ${config.summary}; ${o.urls.join(' ')}; ${(result.durationMs / 1000).toFixed(1)} s`, result.tests);
  for (const t of verdict.knownFailures) lines.push(`  known failure: ${t.name}`);
  for (const p of verdict.staleFailures) lines.push(`  known failure that no longer fails (remove it): ${p}`);
  for (const p of verdict.staleSkips) lines.push(`  expected skip that no longer skips (remove it): ${p}`);
  for (const t of verdict.unexplainedSkips) lines.push(`  UNEXPLAINED SKIP: ${t.name}: ${why(t)}`);
  for (const t of verdict.unexpectedFailures) {
    lines.push(`  UNEXPECTED FAILURE: ${t.name}`);
    for (const m of [...t.messages, ...t.assertions].slice(0, 6)) lines.push(`      ${m}`);
  }
  return lines.join('\n');
}

test(`iscsi-test-cu --dataloss --allow-sanitize on ${ACTIVE.length} LUN configurations`, { timeout: RUN_TIMEOUT_MS + 120_000, concurrency: true, skip: SELECTED.includes('none') }, async (t) => {
  requireTool('iscsi-test-cu');
  const outcomes = await Promise.all(
    ACTIVE.map(async (config) => {
      let outcome: Outcome | undefined;
      await t.test(config.name, async () => {
        outcome = await runConfiguration(config);
        const { result, verdict } = outcome;
        console.log(report(outcome));
        assert.equal(result.timedOut, false, `${config.name}: iscsi-test-cu did not finish within ${RUN_TIMEOUT_MS} ms`);
        assert.ok(result.run.summary, `${config.name}: iscsi-test-cu stopped before its summary (exit ${JSON.stringify(result.exit)})`);
        assert.deepEqual(verdict.unexpectedFailures.map((x) => x.name), [], `${config.name}: failures not in the known-failure lists`);
        assert.deepEqual(verdict.unexplainedSkips.map((x) => x.name), [], `${config.name}: skips not explained in expected-skips.txt`);
        assert.ok(result.counts.passed >= config.minPassed, `${config.name}: ${result.counts.passed} passed, minimum ${config.minPassed}`);
      });
      return outcome;
    }),
  );
  const lines = ['', 'iscsi-test-cu per configuration:'];
  for (const o of outcomes) {
    if (o === undefined) continue;
    const c = o.result.counts;
    lines.push(`  ${o.config.name.padEnd(10)} ${String(c.passed).padStart(3)} passed ${String(c.skipped).padStart(3)} skipped ${String(c.failed).padStart(3)} failed  (${(o.result.durationMs / 1000).toFixed(1)} s)`);
  }
  console.log(lines.join('\n'));
});
