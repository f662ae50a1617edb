// Target-initiated NOP-In pings (RFC 7143 §11.19): an idle connection is
// pinged; an answered ping keeps it, an unanswered one drops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MiniInitiator, LUN0 } from './mini-initiator.js';
import { startRamTarget, TARGET } from './fixture.js';
import { Opcode, RESERVED_TAG, type NopIn } from '../../src/pdu/types.js';

test('idle connection gets NOP-In pings; answering keeps it alive, silence drops it', async () => {
  const t = await startRamTarget({ tsgt: { version: 1, nop_in_interval: 1, nop_in_timeout: 2 } });
  try {
    const a = await MiniInitiator.connect(t.port);
    await a.login({ targetName: TARGET, isid: Buffer.from([0x80, 0, 0, 0, 1, 1]) });
    const b = await MiniInitiator.connect(t.port);
    await b.login({ targetName: TARGET, isid: Buffer.from([0x80, 0, 0, 0, 1, 2]) });
    // a answers every ping for a while.
    const until = Date.now() + 4500;
    let pings = 0;
    while (Date.now() < until) {
      let ping: NopIn;
      try {
        ping = await a.next<NopIn>((p) => p.opcode === Opcode.NopIn, 1500);
      } catch {
        continue;
      }
      assert.equal(ping.itt, RESERVED_TAG);
      assert.notEqual(ping.ttt, RESERVED_TAG);
      pings++;
      a.send({ opcode: Opcode.NopOut, immediate: true, lun: LUN0, itt: RESERVED_TAG, ttt: ping.ttt, cmdSn: a.cmdSn, expStatSn: a.expStatSn, data: Buffer.alloc(0) });
    }
    assert.ok(pings >= 2, `expected repeated pings, got ${pings}`);
    assert.equal(a.closed, false, 'answering connection stays');
    assert.ok(await b.waitClosed(3000), 'silent connection dropped');
    a.close();
  } finally {
    await t.server.close();
  }
});

test('a write whose solicited Data-Out never comes drops the connection after dataout_timeout', async () => {
  const t = await startRamTarget({ tsgt: { version: 1, nop_in_interval: 0, dataout_timeout: 1 } });
  try {
    const i = await MiniInitiator.connect(t.port);
    await i.login({ targetName: TARGET, keys: { InitialR2T: 'Yes', ImmediateData: 'No' } });
    const cdb = Buffer.from([0x2a, 0, 0, 0, 0, 8, 0, 0, 8, 0]);
    const itt = i.command(cdb, { write: Buffer.alloc(4096) });
    const r2t = await i.next((p) => p.opcode === Opcode.ReadyToTransfer && (p as { itt: number }).itt === itt);
    assert.equal(r2t.opcode, Opcode.ReadyToTransfer);
    const t0 = Date.now();
    assert.ok(await i.waitClosed(5000), 'connection dropped');
    assert.ok(Date.now() - t0 >= 900, 'not before the timeout');
  } finally {
    await t.server.close();
  }
});
