// parseConsole on real guest consoles (captured from scripts/kernel-guest/init.sh
// runs) and on the ways kernel output can get in between the markers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { detailValue, parseConsole, stepDetails } from './console.js';

function fixture(name: string): string {
  return readFileSync(new URL(`../../../test/fixtures/kernel/${name}`, import.meta.url), 'utf8');
}

test('a passing iscsistart run: every step in order, details, PASS', () => {
  const c = parseConsole(fixture('console-iscsistart-pass.txt'));
  assert.deepEqual(
    c.steps.map((s) => s.name),
    ['boot', 'modules', 'network', 'login', 'disk', 'mkfs', 'mount', 'write', 'umount', 'fsck', 'remount', 'read', 'umount2', 'logout2'],
  );
  assert.deepEqual(c.result, { pass: true });
  assert.deepEqual(c.discovered, []);
  assert.equal(stepDetails(c, 'login'), 'TSGT');
  assert.equal(detailValue(stepDetails(c, 'disk'), 'size'), String(64 * 1024 * 1024));
  assert.equal(detailValue(stepDetails(c, 'boot'), 'digest'), 'CRC32C');
  const wrote = detailValue(stepDetails(c, 'write'), 'sha256');
  assert.match(wrote ?? '', /^[0-9a-f]{64}$/);
  assert.equal(detailValue(stepDetails(c, 'read'), 'sha256'), wrote);
});

test('a failed login: the steps before it, FAIL with the reason, no PASS', () => {
  const c = parseConsole(fixture('console-mutual-chap-fail.txt'));
  assert.deepEqual(
    c.steps.map((s) => s.name),
    ['boot', 'modules', 'network'],
  );
  assert.deepEqual(c.result, { pass: false, why: 'login to iqn.2025-01.org.tsgt:kernel at 10.0.2.100:3260' });
  assert.equal(stepDetails(c, 'login'), undefined);
});

test('CRLF line ends, a printk in front of a marker, discovery lines; the first verdict wins', () => {
  const text = [
    'TSGT-STEP boot ok kernel=6.1.0 mode=iscsiadm digest=None\r',
    '[    3.1] sd 0:0:0:0: [sda] Attached SCSI disk TSGT-STEP discovery ok\r',
    'TSGT-DISCOVERED 127.0.0.1:3260,1 iqn.2025-01.org.tsgt:kernel',
    'TSGT-STEP login ok\r',
    'TSGT-RESULT FAIL umount',
    'TSGT-RESULT PASS',
    'TSGT-STEP notastep failed',
  ].join('\n');
  const c = parseConsole(text);
  assert.deepEqual(c.steps, [
    { name: 'boot', details: 'kernel=6.1.0 mode=iscsiadm digest=None' },
    { name: 'discovery', details: '' },
    { name: 'login', details: '' },
  ]);
  assert.deepEqual(c.discovered, ['127.0.0.1:3260,1 iqn.2025-01.org.tsgt:kernel']);
  assert.deepEqual(c.result, { pass: false, why: 'umount' });
});

test('no verdict at all (guest killed): result undefined', () => {
  const c = parseConsole('TSGT-STEP boot ok\n[ 5.0] Kernel panic - not syncing\n');
  assert.equal(c.result, undefined);
  assert.deepEqual(c.steps.map((s) => s.name), ['boot']);
  assert.equal(detailValue('a=1 b=2', 'b'), '2');
  assert.equal(detailValue('a=1 b=2', 'c'), undefined);
  assert.equal(detailValue(undefined, 'a'), undefined);
});
