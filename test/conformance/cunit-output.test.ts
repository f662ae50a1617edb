import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCunitOutput, parseKnownFailures, tally, type CunitTest } from './cunit-output.js';

// A full `iscsi-test-cu --dataloss -t ALL` run against tgt 1.0.85 (libiscsi 1.19.0, CUnit 2.1-3).
const SAMPLE = readFileSync(new URL('../../../test/fixtures/integration/iscsi-test-cu-tgt-1.0.85.txt', import.meta.url), 'utf8');

function byName(tests: readonly CunitTest[], name: string): CunitTest {
  const t = tests.find((x) => x.name === name);
  assert.ok(t, `no test ${name}`);
  return t;
}

test('parses every test of a complete run and agrees with CUnit totals', () => {
  const run = parseCunitOutput(SAMPLE);
  assert.ok(run.summary);
  assert.deepEqual(run.summary.tests, { total: 230, ran: 230, passed: 222, failed: 8, inactive: 0 });
  assert.equal(run.tests.length, 230);
  const counts = tally(run.tests);
  assert.equal(counts.failed, run.summary.tests.failed);
  // CUnit's "passed" includes libiscsi's skips
  assert.equal(counts.passed + counts.skipped, run.summary.tests.passed);
  assert.equal(new Set(run.tests.map((t) => t.name)).size, 230);
  assert.deepEqual(run.suiteFailures, []);
});

test('[SKIPPED] is a skip even though CUnit says passed', () => {
  const run = parseCunitOutput(SAMPLE);
  const t = byName(run.tests, 'CompareAndWrite.Simple');
  assert.equal(t.status, 'skipped');
  assert.ok(t.messages.some((m) => m.includes('COMPAREANDWRITE is not implemented')));
  assert.equal(byName(run.tests, 'Inquiry.BlockLimits').status, 'skipped');
  assert.equal(byName(run.tests, 'Sanitize.BlockErase').status, 'skipped');
  assert.equal(byName(run.tests, 'Inquiry.Standard').status, 'passed');
});

test('FAILED verdicts keep their messages and assertion lines', () => {
  const run = parseCunitOutput(SAMPLE);
  const t = byName(run.tests, 'GetLBAStatus.BeyondEol');
  assert.equal(t.status, 'failed');
  assert.deepEqual(t.assertions, ['test_get_lba_status_beyond_eol.c:38  - CU_ASSERT_EQUAL(_r,0)']);
  assert.ok(t.messages[0].startsWith('[FAILED] GET_LBA_STATUS successful'));
  const r = byName(run.tests, 'Reserve6.2Initiators');
  assert.equal(r.status, 'failed');
  assert.ok(r.messages.includes('Take out a RESERVE6 from the first initiator'));
  assert.equal(r.assertions.length, 1);
});

test('output after a verdict (suite cleanup) is a note, not the result', () => {
  const run = parseCunitOutput(SAMPLE);
  const t = byName(run.tests, 'Reserve6.LUNReset');
  assert.equal(t.status, 'passed');
  assert.ok(t.notes.some((n) => n.includes('[FAILED] PRIN command')));
  const w = byName(run.tests, 'WriteSame10.UnmapVPD');
  assert.equal(w.status, 'passed');
  assert.ok(w.notes.some((n) => n.includes('printed [FAILED]')));
  // a [WARNING] line does not make a skip
  assert.equal(byName(run.tests, 'ModeSense6.Control').status, 'passed');
});

test('a run cut short: the running test has no verdict and fails, no summary', () => {
  const at = SAMPLE.indexOf('\nFAILED\n    1. test_get_lba_status_beyond_eol.c');
  assert.ok(at > 0);
  const cut = SAMPLE.slice(0, at + 1);
  const run = parseCunitOutput(cut);
  assert.equal(run.summary, undefined);
  const last = run.tests[run.tests.length - 1];
  assert.equal(last.name, 'GetLBAStatus.BeyondEol');
  assert.equal(run.tests[run.tests.length - 2].status, 'passed');
  assert.equal(last.status, 'failed');
  assert.match(last.notes.join('\n'), /no verdict/);
});

test('output glued to an assertion line is split off into the notes', () => {
  const text =
    '\nSuite: iSCSIdatasn\n  Test: iSCSIDataSnInvalid ...    [FAILED] WRITE10 command failed\nFAILED\n    1. test_iscsi_datasn_invalid.c:116  - CU_ASSERT_NOT_EQUAL(ret,0)    [SKIPPED] PERSISTENT RESERVE IN is not implemented.\n\nSuite: iSCSIResiduals\n  Test: Read10Invalid ...passed\n';
  const run = parseCunitOutput(text);
  const t = byName(run.tests, 'iSCSIdatasn.iSCSIDataSnInvalid');
  assert.equal(t.status, 'failed');
  assert.deepEqual(t.assertions, ['test_iscsi_datasn_invalid.c:116  - CU_ASSERT_NOT_EQUAL(ret,0)']);
  assert.deepEqual(t.notes, ['[SKIPPED] PERSISTENT RESERVE IN is not implemented.']);
  assert.equal(byName(run.tests, 'iSCSIResiduals.Read10Invalid').status, 'passed');
});

test('suite initialization failures are reported', () => {
  const text = "\n\nSuite: Foo\nWARNING - Suite initialization failed for 'Foo'.\nSuite: Bar\n  Test: One ...passed\n\nRun Summary:    Type  Total    Ran Passed Failed Inactive\n              suites      2      1    n/a      1        0\n               tests      1      1      1      0        0\n";
  const run = parseCunitOutput(text);
  assert.deepEqual(run.suiteFailures, [{ suite: 'Foo', phase: 'initialization' }]);
  assert.deepEqual(run.tests.map((t) => [t.name, t.status]), [['Bar.One', 'passed']]);
  assert.equal(run.summary?.suites.failed, 1);
});

test('known-failures.txt: names, wildcards, reasons, comments', () => {
  const k = parseKnownFailures('# header\n\nRead6.Simple   # not implemented yet\nSanitize.*  # no sanitize\n  iSCSITMF.Abort*\n');
  assert.deepEqual(k.map((x) => [x.pattern, x.reason]), [
    ['Read6.Simple', 'not implemented yet'],
    ['Sanitize.*', 'no sanitize'],
    ['iSCSITMF.Abort*', ''],
  ]);
  assert.equal(k[0].matches('Read6.Simple'), true);
  assert.equal(k[0].matches('Read6.SimpleX'), false);
  assert.equal(k[0].matches('Read6xSimple'), false);
  assert.equal(k[1].matches('Sanitize.BlockErase'), true);
  assert.equal(k[2].matches('iSCSITMF.AbortTaskSimple'), true);
  assert.equal(k[2].matches('iSCSITMF.LUNReset'), false);
});
