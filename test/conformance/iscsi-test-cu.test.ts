// libiscsi's conformance suite (iscsi-test-cu) against a 64 MiB fileio LUN.
//
// Environment:
//   TSGT_CONFORMANCE_TESTS       test selection passed to -t (default ALL; FAMILY[.SUITE[.TEST]],
//                                comma separated, fnmatch wildcards). MIN_PASSED only applies to ALL.
//   TSGT_CONFORMANCE_TIMEOUT_MS  overall bound for iscsi-test-cu (default 20 minutes).
//   TSGT_CONFORMANCE_MULTIPATH=0 gives the LUN once (default: twice, so the MultipathIO suite runs).
//   TSGT_CONFORMANCE_VERBOSE=1   copy iscsi-test-cu's output to stderr as it runs.
//   TSGT_CONFORMANCE_URL         run against this iscsi:// LUN URL instead of starting tsgt
//                                (to compare with another target, e.g. tgt).
// Results: dist/conformance-results.json and dist/conformance-output.txt.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { freePort, repoPath, requireTool, withTarget, withTempDir } from '../integration/harness.js';
import { MIB, basicConfig, lunUrl } from '../integration/configs.js';
import { parseKnownFailures, tally, type CunitTest } from './cunit-output.js';
import { runIscsiTestCu } from './run-cu.js';

const MIN_PASSED = 160;
const SELECTION = process.env.TSGT_CONFORMANCE_TESTS || 'ALL';
const TIMEOUT_MS = Number(process.env.TSGT_CONFORMANCE_TIMEOUT_MS) || 20 * 60_000;
// Two paths to the LUN by default, so the MultipathIO suite runs (0 turns it off).
const MULTIPATH = process.env.TSGT_CONFORMANCE_MULTIPATH !== '0';
const VERBOSE = process.env.TSGT_CONFORMANCE_VERBOSE === '1';
const EXTERNAL_URL = process.env.TSGT_CONFORMANCE_URL;
const RESULTS = repoPath('dist/conformance-results.json');
const OUTPUT = repoPath('dist/conformance-output.txt');
const KNOWN = repoPath('test/conformance/known-failures.txt');

function pad(s: string | number, n: number): string {
  return String(s).padEnd(n);
}

function printSummary(tests: readonly CunitTest[]): void {
  const suites = new Map<string, CunitTest[]>();
  for (const t of tests) suites.set(t.suite, [...(suites.get(t.suite) ?? []), t]);
  const lines = ['', 'iscsi-test-cu results per suite:'];
  for (const [suite, list] of suites) {
    const c = tally(list);
    const failed = list.filter((t) => t.status === 'failed').map((t) => t.test);
    lines.push(`  ${pad(suite, 28)} ${pad(`${c.passed} passed`, 10)} ${pad(`${c.skipped} skipped`, 11)} ${c.failed} failed${failed.length ? `  (${failed.join(', ')})` : ''}`);
  }
  const c = tally(tests);
  lines.push(`  ${pad('TOTAL', 28)} ${pad(`${c.passed} passed`, 10)} ${pad(`${c.skipped} skipped`, 11)} ${c.failed} failed  (${tests.length} tests)`);
  console.log(lines.join('\n'));
}

/** A LUN URL to test: TSGT_CONFORMANCE_URL, or a fresh demo-mode 64 MiB write-back fileio LUN on tsgt (file on tmpfs). */
async function withLun(fn: (url: string) => Promise<void>): Promise<void> {
  if (EXTERNAL_URL) {
    console.log(`TSGT_CONFORMANCE_URL set: testing ${EXTERNAL_URL}, not tsgt`);
    return fn(EXTERNAL_URL);
  }
  // On tmpfs: reads take the sendfile path (the other configurations' LUNs are on os.tmpdir()).
  await withTempDir(
    async (dir) => {
      const port = await freePort();
      await withTarget(basicConfig({ dir, port, size: 64 * MIB }), () => fn(lunUrl(port, 0)));
    },
    { memory: true },
  );
}

test(`iscsi-test-cu --dataloss -t ${SELECTION}`, { timeout: TIMEOUT_MS + 120_000 }, async () => {
  requireTool('iscsi-test-cu');
  const known = parseKnownFailures(await readFile(KNOWN, 'utf8'));
  await withLun(async (url) => {
    const cu = await runIscsiTestCu({
      urls: MULTIPATH ? [url, url] : [url],
      selection: SELECTION,
      allowSanitize: false,
      timeoutMs: TIMEOUT_MS,
      echoPrefix: VERBOSE ? '' : undefined,
    });
    const { args, run, exit, timedOut, durationMs, stdout } = cu;
    const started = Date.now() - durationMs;
    await mkdir(dirname(OUTPUT), { recursive: true });
    await writeFile(OUTPUT, `$ iscsi-test-cu ${args.join(' ')}\n${stdout}\n--- stderr ---\n${cu.stderr}`);

    const all = cu.tests;
    const isKnown = (name: string) => known.some((k) => k.matches(name));
    const unexpected = all.filter((t) => t.status === 'failed' && !isKnown(t.name));
    const knownFailing = all.filter((t) => t.status === 'failed' && isKnown(t.name));
    const nowPassing = known
      .filter((k) => all.some((t) => k.matches(t.name)) && !all.some((t) => k.matches(t.name) && t.status === 'failed'))
      .map((k) => k.pattern);
    const counts = tally(all);

    await writeFile(
      RESULTS,
      `${JSON.stringify(
        {
          command: `iscsi-test-cu ${args.join(' ')}`,
          selection: SELECTION,
          date: new Date(started).toISOString(),
          durationMs,
          exit: exit ?? null,
          timedOut,
          complete: run.summary !== undefined,
          counts,
          cunitSummary: run.summary ?? null,
          unexpectedFailures: unexpected.map((t) => t.name),
          knownFailures: knownFailing.map((t) => t.name),
          knownFailuresNowPassing: nowPassing,
          tests: all,
        },
        null,
        2,
      )}\n`,
    );

    printSummary(all);
    console.log(`results: ${RESULTS}\nraw output: ${OUTPUT}\nduration: ${(durationMs / 1000).toFixed(1)} s`);
    if (nowPassing.length) console.log(`known failures that no longer fail (remove them from known-failures.txt):\n  ${nowPassing.join('\n  ')}`);
    if (knownFailing.length) console.log(`known failures still failing: ${knownFailing.length}`);
    const detail = unexpected
      .map((t) => `  ${t.name}\n${[...t.messages, ...t.assertions, ...t.notes].map((m) => `      ${m}`).join('\n')}`)
      .join('\n');
    if (unexpected.length) console.log(`unexpected failures:\n${detail}`);

    assert.equal(timedOut, false, `iscsi-test-cu did not finish within ${TIMEOUT_MS} ms (see ${OUTPUT})`);
    assert.ok(all.length > 0, `iscsi-test-cu ran no tests (exit ${JSON.stringify(exit)}):\n${stdout}\n${cu.stderr}`);
    assert.ok(run.summary, `iscsi-test-cu stopped before its summary (exit ${JSON.stringify(exit)}); see ${OUTPUT}`);
    assert.equal(exit?.signal ?? null, null, `iscsi-test-cu was killed by ${exit?.signal}`);
    assert.deepEqual(unexpected.map((t) => t.name), [], `failures not in known-failures.txt:\n${detail}`);
    if (SELECTION === 'ALL') {
      assert.ok(counts.passed >= MIN_PASSED, `only ${counts.passed} tests passed (${counts.skipped} skipped); MIN_PASSED is ${MIN_PASSED}`);
    } else {
      console.log(`subset run (${SELECTION}): MIN_PASSED (${MIN_PASSED}) not applied`);
    }
  });
});
