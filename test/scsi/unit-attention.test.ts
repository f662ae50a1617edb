import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeLun } from '../../src/scsi/lun-address.js';
import { SenseReason } from '../../src/scsi/sense.js';
import { clearReason, createUnitAttentionState, establish, establishFor, forgetNexus, peek, registerNexus, take } from '../../src/scsi/unit-attention.js';
import { fixture, run, sense } from './harness.js';

const TUR = [0, 0, 0, 0, 0, 0];

test('a new nexus starts without a unit attention; a lost port gets I_T NEXUS LOSS once', () => {
  const s = createUnitAttentionState();
  assert.equal(registerNexus(s, 'n1', 'p1'), true);
  assert.equal(registerNexus(s, 'n1', 'p1'), false);
  assert.equal(take(s, 'n1'), undefined);
  forgetNexus(s, 'n1');
  // A different port (e.g. a new ISID) is not a reconnect.
  registerNexus(s, 'n3', 'p2');
  assert.equal(peek(s, 'n3'), undefined);
  registerNexus(s, 'n2', 'p1');
  assert.equal(take(s, 'n2'), SenseReason.ItNexusLossOccurred);
  assert.equal(take(s, 'n2'), undefined);
  // Only once: the next nexus of p1 after n2 ends gets it again, not a third one in parallel.
  registerNexus(s, 'n4', 'p1');
  assert.equal(peek(s, 'n4'), undefined);
});

test('nexus loss while another nexus of the same port is registered tells that nexus', () => {
  const s = createUnitAttentionState();
  registerNexus(s, 'old', 'p');
  registerNexus(s, 'new', 'p'); // session reinstatement: new nexus opened before the old one closed
  forgetNexus(s, 'old');
  assert.equal(take(s, 'new'), SenseReason.ItNexusLossOccurred);
  registerNexus(s, 'later', 'p');
  assert.equal(peek(s, 'later'), undefined);
});

test('queue: FIFO, de-duplicated, reset-class conditions supersede, clearReason', () => {
  const s = createUnitAttentionState();
  registerNexus(s, 'n', 'p');
  establishFor(s, 'n', SenseReason.ModeParametersChanged);
  establishFor(s, 'n', SenseReason.CapacityDataChanged);
  establishFor(s, 'n', SenseReason.ModeParametersChanged);
  assert.equal(take(s, 'n'), SenseReason.ModeParametersChanged);
  assert.equal(take(s, 'n'), SenseReason.CapacityDataChanged);
  assert.equal(take(s, 'n'), undefined);
  establishFor(s, 'n', SenseReason.CapacityDataChanged);
  establishFor(s, 'n', SenseReason.BusDeviceResetOccurred);
  establishFor(s, 'n', SenseReason.ReportedLunsDataChanged);
  assert.equal(take(s, 'n'), SenseReason.BusDeviceResetOccurred);
  assert.equal(take(s, 'n'), undefined);
  establish(s, SenseReason.ReportedLunsDataChanged);
  clearReason(s, 'n', SenseReason.ReportedLunsDataChanged);
  assert.equal(peek(s, 'n'), undefined);
  // Unregistered nexuses receive nothing.
  establishFor(s, 'ghost', SenseReason.CapacityDataChanged);
  assert.equal(peek(s, 'ghost'), undefined);
});

test('establish() honours its filter', () => {
  const s = createUnitAttentionState();
  registerNexus(s, 'a', 'pa');
  registerNexus(s, 'b', 'pb');
  establish(s, SenseReason.BusDeviceResetOccurred, (id) => id !== 'a');
  assert.equal(peek(s, 'a'), undefined);
  assert.equal(peek(s, 'b'), SenseReason.BusDeviceResetOccurred);
});

// SAM-5 §7.7: a LOGICAL UNIT RESET's UA reaches every I_T nexus, the issuer's
// too (LIO; libiscsi's MultipathIO.Reset checks each path). Target resets
// spare the issuer, which learns of them from the TMF response.
for (const [fn, ascq, issuerToo] of [
  ['logical-unit-reset', 0x03, true],
  ['target-warm-reset', 0x02, false],
  ['target-cold-reset', 0x01, false],
] as const) {
  test(`${fn}: unit attention 29/${ascq.toString(16).padStart(2, '0')} for ${issuerToo ? 'every nexus' : 'the other nexuses only'}`, async () => {
    const f = fixture();
    const a = f.open('a');
    const b = f.open('b');
    const c = f.open('c');
    assert.equal((await run(a, TUR)).status, 0);
    assert.equal(await a.taskManagement({ function: fn, lun: encodeLun(0) }), 'function-complete');
    if (issuerToo) {
      const r = await run(a, TUR);
      assert.deepEqual([r.status, sense(r).asc, sense(r).ascq], [2, 0x29, ascq]);
    }
    assert.equal((await run(a, TUR)).status, 0);
    for (const n of [b, c]) {
      const r = await run(n, TUR);
      assert.equal(r.status, 2);
      assert.deepEqual([sense(r).key, sense(r).asc, sense(r).ascq], [6, 0x29, ascq]);
      assert.equal((await run(n, TUR)).status, 0);
    }
    // A nexus that appears after the reset does not learn of it.
    const d = f.open('d');
    assert.equal((await run(d, TUR)).status, 0);
  });
}

test('first RESERVE(6) of a fresh nexus after a LUN reset succeeds (libiscsi test_reserve6_lun_reset)', async () => {
  const f = fixture();
  const a = f.open('a');
  assert.equal((await run(a, [0x16, 0, 0, 0, 0, 0])).status, 0);
  assert.equal(await a.taskManagement({ function: 'logical-unit-reset', lun: encodeLun(0) }), 'function-complete');
  const b = f.open('b', 'iqn.2024-01.test:second,i,0x3d1234567890');
  assert.equal((await run(b, [0x16, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(b, [0x17, 0, 0, 0, 0, 0])).status, 0);
});
