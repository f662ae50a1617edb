import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SenseReason } from '../../src/scsi/sense.js';
import { clearReason, createUnitAttentionState, establish, establishFor, forgetNexus, peek, registerNexus, take } from '../../src/scsi/unit-attention.js';

test('first contact per initiator port: power-on, then I_T nexus loss for a new nexus of the same port', () => {
  const s = createUnitAttentionState();
  assert.equal(registerNexus(s, 'n1', 'p1'), true);
  assert.equal(registerNexus(s, 'n1', 'p1'), false);
  assert.equal(take(s, 'n1'), SenseReason.PowerOnResetOccurred);
  assert.equal(take(s, 'n1'), undefined);
  forgetNexus(s, 'n1');
  registerNexus(s, 'n2', 'p1');
  assert.equal(peek(s, 'n2'), SenseReason.ItNexusLossOccurred);
  registerNexus(s, 'n3', 'p2');
  assert.equal(take(s, 'n3'), SenseReason.PowerOnResetOccurred);
});

test('queue: FIFO, de-duplicated, reset-class conditions supersede, clearReason', () => {
  const s = createUnitAttentionState();
  registerNexus(s, 'n', 'p');
  take(s, 'n');
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
