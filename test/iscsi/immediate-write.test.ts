// A write whose Data-Out all came as immediate data runs without a Data-Out
// collector (scsi-flow.ts Task.immediateOnly); the protocol rules must be the
// same as with one: no R2T, the data reaches the medium, and a Data-Out for
// such a task is a protocol error that drops the connection (RFC 7143 §7.1.4
// at ERL 0), exactly as when the collector had no open burst for it.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MiniInitiator, read10, write10, RESERVED_TAG } from '../protocol/mini-initiator.js';
import { startRamTarget, TARGET, type Started } from '../protocol/fixture.js';
import { Opcode } from '../../src/pdu/types.js';

let t: Started;
before(async () => {
  t = await startRamTarget({ tsgt: { version: 1, nop_in_interval: 0 } });
});
after(async () => {
  await t.server.close();
});

async function session(): Promise<MiniInitiator> {
  const i = await MiniInitiator.connect(t.port);
  await i.login({ targetName: TARGET, keys: { ImmediateData: 'Yes', InitialR2T: 'Yes', FirstBurstLength: '65536', MaxRecvDataSegmentLength: '65536' } });
  for (let n = 0; n < 5; n++) {
    const r = await i.complete(i.command(Buffer.alloc(6)));
    if (r.status === 0) return i;
  }
  assert.fail('unit attention never cleared');
}

test('all-immediate writes (1..16 blocks, many in flight) complete GOOD without R2T and read back', async () => {
  const i = await session();
  const writes: { itt: number; lba: number; data: Buffer }[] = [];
  for (let k = 0; k < 16; k++) {
    const blocks = 1 + k;
    const lba = 64 * k;
    const data = randomBytes(blocks * 512);
    writes.push({ itt: i.command(write10(lba, blocks), { write: data, immediate: data }), lba, data });
  }
  for (const w of writes) {
    // complete() throws on an R2T when given no data to answer it with.
    const r = await i.complete(w.itt);
    assert.equal(r.status, 0);
    assert.equal(r.residual, 0);
  }
  for (const w of writes) {
    const rd = await i.complete(i.command(read10(w.lba, w.data.length / 512), { read: w.data.length }));
    assert.ok(rd.data.equals(w.data), `LBA ${w.lba} reads back what was written`);
  }
  i.close();
});

test('EDTL smaller than the CDB with all of it immediate: the covered blocks are written, overflow residual', async () => {
  const i = await session();
  const data = randomBytes(4 * 512);
  // WRITE(10) of 8 blocks, EDTL 4 blocks, all immediate.
  const r = await i.complete(i.command(write10(2000, 8), { write: data, immediate: data }));
  assert.equal(r.status, 0);
  assert.equal(r.overflow, true);
  assert.equal(r.residual, 4 * 512);
  const rd = await i.complete(i.command(read10(2000, 4), { read: data.length }));
  assert.ok(rd.data.equals(data));
  i.close();
});

test('Data-Out for a write whose data all came immediately drops the connection', async () => {
  const i = await session();
  const data = randomBytes(4096);
  // CmdSN one ahead: the task waits in the command window, so it is surely in flight when the Data-Out arrives.
  const gap = i.cmdSn;
  const itt = i.command(write10(10, 8), { write: data, immediate: data, cmdSn: (gap + 1) >>> 0 });
  i.sendDataOut(itt, RESERVED_TAG, data.subarray(0, 512), 0, 512);
  assert.ok(await i.waitClosed(3000), 'connection dropped');
  assert.ok(!i.inbox.some((p) => p.opcode === Opcode.ScsiResponse), 'no status for the write');
});
