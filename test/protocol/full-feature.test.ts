// End-to-end protocol behaviour over TCP loopback with the mini initiator:
// digests, immediate/unsolicited/solicited data, Data-In splitting, NOP,
// CmdSN window, malformed input, task management, logout, reinstatement.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MiniInitiator, read10, write10, inquiry, LUN0 } from './mini-initiator.js';
import { startRamTarget, TARGET, type Started } from './fixture.js';
import { Opcode, RESERVED_TAG, TaskManagementFunction, type NopIn, type Reject, type TaskManagementResponse } from '../../src/pdu/types.js';

let t: Started;
before(async () => {
  t = await startRamTarget({ tsgt: { version: 1, nop_in_interval: 0 } });
});
after(async () => {
  await t.server.close();
});

async function session(keys: Record<string, string> = {}, isid?: Buffer): Promise<MiniInitiator> {
  const i = await MiniInitiator.connect(t.port);
  await i.login({ targetName: TARGET, keys, isid });
  return i;
}

/** Clear the power-on unit attention with TEST UNIT READY. */
async function clearUa(i: MiniInitiator): Promise<void> {
  for (let n = 0; n < 5; n++) {
    const r = await i.complete(i.command(Buffer.alloc(6)));
    if (r.status === 0) return;
  }
  assert.fail('unit attention never cleared');
}

test('login negotiates the offered keys and INQUIRY answers with status collapsed into Data-In', async () => {
  const i = await session({ HeaderDigest: 'None', DataDigest: 'None', MaxRecvDataSegmentLength: '8192' });
  const r = await i.complete(i.command(inquiry(96), { read: 96 }));
  assert.equal(r.status, 0);
  assert.equal(r.data[0] & 0x1f, 0, 'direct-access device');
  assert.equal(r.data.length, 96 - r.residual);
  assert.equal(r.underflow, r.residual > 0);
  assert.ok(i.tsih !== 0);
  i.close();
});

test('header and data digests: write with immediate data + R2T, read back over many Data-In PDUs', async () => {
  const i = await session({
    HeaderDigest: 'CRC32C',
    DataDigest: 'CRC32C',
    ImmediateData: 'Yes',
    InitialR2T: 'Yes',
    FirstBurstLength: '8192',
    MaxBurstLength: '16384',
    MaxRecvDataSegmentLength: '4096',
  });
  assert.deepEqual(i.digests, { header: true, data: true });
  await clearUa(i);
  const data = randomBytes(64 * 1024);
  // 8 KiB immediate, the rest solicited with R2Ts of at most MaxBurstLength.
  const w = i.command(write10(100, 128), { write: data, immediate: data.subarray(0, 4096) });
  const wr = await i.complete(w, data);
  assert.equal(wr.status, 0);
  const rd = await i.complete(i.command(read10(100, 128), { read: data.length }));
  assert.equal(rd.status, 0);
  assert.ok(rd.data.equals(data), 'data read back equals data written');
  assert.equal(rd.dataIns, 16, '64 KiB in 4 KiB Data-In segments');
  i.close();
});

test('unsolicited Data-Out with InitialR2T=No up to FirstBurstLength', async () => {
  // InitialR2T is an OR key (RFC 7143 §13.10): the TPG must offer No too.
  const u = await startRamTarget({ parameters: { InitialR2T: 'No' }, tsgt: { version: 1, nop_in_interval: 0 } });
  try {
    const i = await MiniInitiator.connect(u.port);
    const { negotiated } = await i.login({
      targetName: TARGET,
      keys: { InitialR2T: 'No', ImmediateData: 'Yes', FirstBurstLength: '16384', MaxBurstLength: '65536' },
    });
    assert.equal(negotiated.keys.get('InitialR2T'), 'No');
    await clearUa(i);
    const data = randomBytes(32 * 1024);
    const itt = i.command(write10(300, 64), { write: data, immediate: data.subarray(0, 4096), final: false });
    // Unsolicited burst: bytes 4096..16383 with the reserved TTT, then R2Ts for the rest.
    i.sendDataOut(itt, RESERVED_TAG, data.subarray(4096, 16384), 4096, 4096);
    const wr = await i.complete(itt, data);
    assert.equal(wr.status, 0);
    const rd = await i.complete(i.command(read10(300, 64), { read: data.length }));
    assert.ok(rd.data.equals(data));
    i.close();
  } finally {
    await u.server.close();
  }
});

test('F=0 (unsolicited data follows) while InitialR2T=Yes is rejected', async () => {
  const i = await session({ InitialR2T: 'No' });
  i.command(write10(0, 8), { write: Buffer.alloc(4096), final: false });
  const rej = await i.next<Reject>((p) => p.opcode === Opcode.Reject);
  assert.equal(rej.reason, 0x04);
  i.close();
});

test('residual underflow and overflow are reported', async () => {
  const i = await session();
  await clearUa(i);
  // READ(10) of 1 block with EDTL 1024: underflow 512.
  const under = await i.complete(i.command(read10(0, 1), { read: 1024 }));
  assert.equal(under.status, 0);
  assert.equal(under.underflow, true);
  assert.equal(under.residual, 512);
  // READ(10) of 2 blocks with EDTL 512: overflow 512, only 512 bytes sent.
  const over = await i.complete(i.command(read10(0, 2), { read: 512 }));
  assert.equal(over.overflow, true);
  assert.equal(over.residual, 512);
  assert.equal(over.data.length, 512);
  i.close();
});

test('NOP-Out ping is echoed with its data', async () => {
  const i = await session();
  const itt = i.itt++;
  const payload = Buffer.from('ping-payload');
  i.send({ opcode: Opcode.NopOut, immediate: true, lun: LUN0, itt, ttt: RESERVED_TAG, cmdSn: i.cmdSn, expStatSn: i.expStatSn, data: payload });
  const r = await i.next<NopIn>((p) => p.opcode === Opcode.NopIn && p.itt === itt);
  assert.ok(r.data.equals(payload));
  assert.equal(r.ttt, RESERVED_TAG);
  i.close();
});

test('a command outside the CmdSN window is dropped silently and the session goes on', async () => {
  const i = await session();
  await clearUa(i);
  const stray = i.command(Buffer.alloc(6), { cmdSn: (i.cmdSn + 100000) >>> 0 });
  assert.ok(await i.quiet(300, (p) => (p as { itt?: number }).itt === stray));
  const ok = await i.complete(i.command(Buffer.alloc(6)));
  assert.equal(ok.status, 0);
  i.close();
});

test('an unknown opcode gets a Reject carrying its header; the connection survives', async () => {
  const i = await session();
  const bhs = Buffer.alloc(48);
  bhs[0] = 0x1c; // not an initiator opcode
  bhs[1] = 0x80;
  bhs.writeUInt32BE(0xabcdef01, 16);
  i.sendFrame({ bhs, ahs: Buffer.alloc(0), data: Buffer.alloc(0) });
  const rej = await i.next<Reject>((p) => p.opcode === Opcode.Reject);
  assert.equal(rej.data.readUInt32BE(16), 0xabcdef01);
  const r = await i.complete(i.command(inquiry(36), { read: 36 }));
  assert.equal(r.status, 0);
  i.close();
});

test('a data segment longer than MaxRecvDataSegmentLength drops the connection, other sessions unaffected', async () => {
  const other = await session({}, Buffer.from([0x80, 0, 0, 0, 0, 9]));
  const i = await session();
  const bhs = Buffer.alloc(48);
  bhs[0] = 0x00 | 0x40; // NOP-Out, immediate
  bhs[1] = 0x80;
  bhs.writeUIntBE(16 * 1024 * 1024 - 1, 5, 3);
  bhs.writeUInt32BE(5, 16);
  bhs.writeUInt32BE(RESERVED_TAG, 20);
  i.sendRaw(bhs);
  assert.ok(await i.waitClosed(3000), 'connection dropped');
  const r = await other.complete(other.command(inquiry(36), { read: 36 }));
  assert.equal(r.status, 0);
  other.close();
});

test('garbage bytes before login drop the connection without crashing the target', async () => {
  const i = await MiniInitiator.connect(t.port);
  i.sendRaw(randomBytes(4096));
  assert.ok(await i.waitClosed(3000));
  const j = await session();
  j.close();
});

test('ABORT TASK of a write waiting for Data-Out: TMF completes and the task never answers', async () => {
  const i = await session({ InitialR2T: 'Yes', ImmediateData: 'No' });
  await clearUa(i);
  const itt = i.command(write10(10, 8), { write: Buffer.alloc(4096) });
  const r2t = await i.next((p) => p.opcode === Opcode.ReadyToTransfer && (p as { itt: number }).itt === itt);
  assert.equal(r2t.opcode, Opcode.ReadyToTransfer);
  const tmfItt = i.itt++;
  i.send({
    opcode: Opcode.TaskManagementRequest,
    immediate: true,
    function: TaskManagementFunction.AbortTask,
    lun: LUN0,
    itt: tmfItt,
    referencedTaskTag: itt,
    cmdSn: i.cmdSn,
    expStatSn: i.expStatSn,
    refCmdSn: (i.cmdSn - 1) >>> 0,
    expDataSn: 0,
  });
  const tmf = await i.next<TaskManagementResponse>((p) => p.opcode === Opcode.TaskManagementResponse);
  assert.equal(tmf.response, 0);
  assert.ok(await i.quiet(300, (p) => (p as { itt?: number }).itt === itt), 'aborted task sends no status');
  const ok = await i.complete(i.command(Buffer.alloc(6)));
  assert.equal(ok.status, 0);
  i.close();
});

test('logout answers and closes the connection', async () => {
  const i = await session();
  assert.equal(await i.logout(), 0);
  assert.ok(await i.waitClosed(3000));
});

test('a second login with the same ISID reinstates the session (old connection closed)', async () => {
  const isid = Buffer.from([0x80, 0, 0, 0, 0x77, 0x01]);
  const a = await session({}, isid);
  const b = await session({}, isid);
  assert.ok(await a.waitClosed(3000), 'old connection closed on reinstatement');
  const r = await b.complete(b.command(inquiry(36), { read: 36 }));
  assert.equal(r.status, 0);
  assert.equal(t.server.sessions().filter((s) => s.isid === isid.toString('hex')).length, 1);
  b.close();
});

test('discovery session answers SendTargets=All with the portal and TPGT', async () => {
  const i = await MiniInitiator.connect(t.port);
  await i.login({ sessionType: 'Discovery' });
  const itt = i.itt++;
  i.send({
    opcode: Opcode.TextRequest,
    immediate: false,
    final: true,
    continue: false,
    lun: LUN0,
    itt,
    ttt: RESERVED_TAG,
    cmdSn: i.cmdSn,
    expStatSn: i.expStatSn,
    data: Buffer.from('SendTargets=All\0'),
  });
  i.cmdSn++;
  const r = await i.next((p) => p.opcode === Opcode.TextResponse);
  const text = (r as { data: Buffer }).data.toString();
  assert.match(text, new RegExp(`TargetName=${TARGET.replace(/\./g, '\\.')}\0`));
  assert.match(text, new RegExp(`TargetAddress=127\\.0\\.0\\.1:${t.port},1\0`));
  i.close();
});

test('SCSI commands in a discovery session are rejected', async () => {
  const i = await MiniInitiator.connect(t.port);
  await i.login({ sessionType: 'Discovery' });
  i.command(inquiry(36), { read: 36 });
  const rej = await i.next<Reject>((p) => p.opcode === Opcode.Reject);
  assert.equal(rej.reason, 0x04);
  i.close();
});
