import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ABORTED, type PrState, type PrStore, type ScsiNexusHandle } from '../../src/scsi/api.js';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus } from '../../src/scsi/nexus.js';
import { encodeTransportId } from '../../src/scsi/pr/transport-id.js';
import { cdb10, fixture, makeNexus, makeView, request, run, sense, WWN } from './harness.js';
import { memoryDevice } from './memory-device.js';

const TUR = [0, 0, 0, 0, 0, 0];
const REGISTER = 0, RESERVE = 1, RELEASE = 2, CLEAR = 3, PREEMPT = 4, PAA = 5, RIEK = 6, MOVE = 7;
const WE = 1, EA = 3, WERO = 5, EARO = 6, WEAR = 7, EAAR = 8;

interface Out {
  type?: number;
  scope?: number;
  key?: bigint;
  sark?: bigint;
  flags?: number;
  /** Appended after the 24-byte basic parameter list. */
  extra?: Buffer;
  /** Parameter list length in the CDB (default: the data length). */
  length?: number;
}

function prout(sa: number, o: Out = {}): { cdb: number[]; data: Buffer } {
  const basic = Buffer.alloc(24);
  basic.writeBigUInt64BE(o.key ?? 0n, 0);
  basic.writeBigUInt64BE(o.sark ?? 0n, 8);
  basic[20] = o.flags ?? 0;
  const data = o.extra ? Buffer.concat([basic, o.extra]) : basic;
  const len = o.length ?? data.length;
  return { cdb: [0x5f, sa, ((o.scope ?? 0) << 4) | (o.type ?? 0), 0, 0, len >>> 24, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff, 0], data };
}

function out(n: ScsiNexusHandle, sa: number, o: Out = {}) {
  const { cdb, data } = prout(sa, o);
  return run(n, cdb, { data });
}

async function keys(n: ScsiNexusHandle): Promise<{ generation: number; keys: bigint[] }> {
  const r = await run(n, [0x5e, 0, 0, 0, 0, 0, 0, 0x20, 0, 0]);
  assert.equal(r.status, 0);
  const d = r.data!;
  const list: bigint[] = [];
  for (let p = 8; p < 8 + d.readUInt32BE(4); p += 8) list.push(d.readBigUInt64BE(p));
  return { generation: d.readUInt32BE(0), keys: list };
}

async function reservation(n: ScsiNexusHandle): Promise<{ key: bigint; type: number } | undefined> {
  const r = await run(n, [0x5e, 1, 0, 0, 0, 0, 0, 0x20, 0, 0]);
  assert.equal(r.status, 0);
  return r.data!.readUInt32BE(4) === 0 ? undefined : { key: r.data!.readBigUInt64BE(8), type: r.data![21] & 0x0f };
}

async function ua(n: ScsiNexusHandle): Promise<[number, number] | undefined> {
  const r = await run(n, TUR);
  if (r.status === 0) return undefined;
  const s = sense(r);
  assert.equal(s.key, 6);
  return [s.asc, s.ascq];
}

function asc(r: Awaited<ReturnType<typeof run>>): [number, number, number] {
  const s = sense(r);
  return [s.key, s.asc, s.ascq];
}

function three() {
  const f = fixture();
  return { f, a: f.open('a'), b: f.open('b'), c: f.open('c') };
}

test('REGISTER: key rules of SPC-4 Table 50, change and remove a key, PRGENERATION', async () => {
  const { a, b } = three();
  // Unregistered: RESERVATION KEY must be 0; SARK 0 does nothing.
  assert.equal((await out(a, REGISTER, { key: 7n, sark: 1n })).status, 0x18);
  assert.equal((await out(a, REGISTER, { sark: 0n })).status, 0);
  assert.deepEqual(await keys(a), { generation: 0, keys: [] });
  assert.equal((await out(a, REGISTER, { sark: 0x10n })).status, 0);
  // libiscsi prout_reregister_key_fails: REGISTER with the wrong key conflicts.
  assert.equal((await out(a, REGISTER, { sark: 0x11n })).status, 0x18);
  assert.equal((await out(a, REGISTER, { key: 0x10n, sark: 0x11n })).status, 0);
  assert.equal((await out(b, REGISTER, { sark: 0x20n })).status, 0);
  assert.deepEqual(await keys(b), { generation: 3, keys: [0x11n, 0x20n] });
  assert.equal((await out(a, REGISTER, { key: 0x11n, sark: 0n })).status, 0);
  assert.deepEqual(await keys(b), { generation: 4, keys: [0x20n] });
});

test('REGISTER AND IGNORE EXISTING KEY ignores the RESERVATION KEY; SPEC_I_PT is refused with it', async () => {
  const { a } = three();
  assert.equal((await out(a, RIEK, { key: 0x99n, sark: 5n })).status, 0);
  assert.equal((await out(a, RIEK, { key: 0x98n, sark: 6n })).status, 0);
  assert.deepEqual((await keys(a)).keys, [6n]);
  const r = await out(a, RIEK, { sark: 7n, flags: 0x08, extra: Buffer.alloc(4), length: 28 });
  assert.deepEqual(asc(r), [5, 0x26, 0]);
  assert.deepEqual([...sense(r).sks!], [0x80 | 0x08 | 3, 0, 20]);
  assert.equal((await out(a, RIEK, { sark: 0n })).status, 0);
  assert.deepEqual((await keys(a)).keys, []);
});

test('parameter list length: 24 unless SPEC_I_PT; below 24 at parse time', async () => {
  const { a } = three();
  assert.deepEqual(asc(await out(a, REGISTER, { sark: 1n, extra: Buffer.alloc(4) })), [5, 0x1a, 0]);
  const short = await run(a, [0x5f, 0, 0, 0, 0, 0, 0, 0, 16, 0], { data: Buffer.alloc(16) });
  assert.deepEqual(asc(short), [5, 0x1a, 0]);
  const none = await run(a, [0x5f, 0, 0, 0, 0, 0, 0, 0, 0, 0], { edtl: 0 });
  assert.deepEqual(asc(none), [5, 0x1a, 0]);
  // SPEC_I_PT: TRANSPORTID PARAMETER DATA LENGTH must match the list.
  const tid = encodeTransportId({ name: 'iqn.2024-01.test:z', isid: undefined });
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(tid.length + 4, 0);
  assert.deepEqual(asc(await out(a, REGISTER, { sark: 1n, flags: 0x08, extra: Buffer.concat([hdr, tid]) })), [5, 0x1a, 0]);
  assert.deepEqual((await keys(a)).keys, []);
});

test('SPEC_I_PT registers the listed initiator ports too; ALL_TG_PT registers through every target port', async () => {
  const f = fixture();
  const a = f.open('a');
  const tids = Buffer.concat([
    encodeTransportId({ name: 'iqn.2024-01.test:b', isid: '000000000001' }),
    encodeTransportId({ name: 'iqn.2024-01.test:c', isid: undefined }),
  ]);
  const hdr = Buffer.alloc(4);
  hdr.writeUInt32BE(tids.length, 0);
  assert.equal((await out(a, REGISTER, { sark: 0xabn, flags: 0x08, extra: Buffer.concat([hdr, tids]) })).status, 0);
  assert.deepEqual((await keys(a)).keys, [0xabn, 0xabn, 0xabn]);
  // b (ISID 1) is now registered and may use its key.
  const b = f.open('b');
  assert.equal((await out(b, RESERVE, { key: 0xabn, type: WE })).status, 0);
  // c's registration (format 00b) covers any of its ports.
  const c2 = f.open('c2', 'iqn.2024-01.test:c,i,0x77');
  assert.equal((await out(c2, REGISTER, { key: 0xabn, sark: 0xcdn })).status, 0);
  // A TransportID naming a registered I_T nexus fails the command.
  const d = f.open('d');
  const again = Buffer.concat([hdr, tids]);
  assert.equal((await out(d, REGISTER, { sark: 1n, flags: 0x08, extra: again })).status, 0x18);
  // ALL_TG_PT: the registration also covers another target port of the same initiator port.
  const e = f.open('e');
  assert.equal((await out(e, REGISTER, { sark: 0xeen, flags: 0x04 })).status, 0);
  const other = { ...makeNexus('e2', 'iqn.2024-01.test:e,i,0x1'), relativeTargetPortId: 2, targetPortName: 'iqn.2024-01.test:target,t,0x0002' };
  const e2 = openNexus(other, f.view, f.scope);
  assert.equal((await out(e2, REGISTER, { key: 0xeen, sark: 0xefn, flags: 0x04 })).status, 0);
  const status = await run(a, [0x5e, 3, 0, 0, 0, 0, 0, 0x20, 0, 0]);
  assert.equal(status.status, 0);
});

test('RESERVE: registration and key required, one reservation, holder may repeat it unchanged', async () => {
  const { a, b } = three();
  assert.equal((await out(a, RESERVE, { key: 1n, type: EA })).status, 0x18); // not registered
  await out(a, REGISTER, { sark: 1n });
  await out(b, REGISTER, { sark: 2n });
  assert.deepEqual(asc(await out(a, RESERVE, { key: 1n, type: 2 })), [5, 0x24, 0]);
  assert.deepEqual(asc(await out(a, RESERVE, { key: 1n, type: EA, scope: 1 })), [5, 0x24, 0]);
  assert.equal((await out(a, RESERVE, { key: 9n, type: EA })).status, 0x18);
  const gen = (await keys(a)).generation;
  assert.equal((await out(a, RESERVE, { key: 1n, type: EA })).status, 0);
  assert.equal((await out(a, RESERVE, { key: 1n, type: EA })).status, 0);
  assert.equal((await out(a, RESERVE, { key: 1n, type: WE })).status, 0x18);
  assert.equal((await out(b, RESERVE, { key: 2n, type: EA })).status, 0x18);
  assert.deepEqual(await reservation(b), { key: 1n, type: EA });
  assert.equal((await keys(a)).generation, gen); // RESERVE does not bump PRGENERATION
});

test('RELEASE: non-holder no-op, wrong type INVALID RELEASE, registrants-only release announced', async () => {
  const { a, b, c } = three();
  await out(a, REGISTER, { sark: 1n });
  await out(b, REGISTER, { sark: 2n });
  assert.equal((await out(c, RELEASE, { key: 0n, type: WERO })).status, 0x18); // unregistered
  assert.equal((await out(a, RELEASE, { key: 1n, type: WERO })).status, 0); // no reservation
  await out(a, RESERVE, { key: 1n, type: WERO });
  assert.equal((await out(b, RELEASE, { key: 2n, type: WERO })).status, 0);
  assert.deepEqual(await reservation(a), { key: 1n, type: WERO });
  assert.deepEqual(asc(await out(a, RELEASE, { key: 1n, type: EARO })), [5, 0x26, 0x04]);
  assert.equal((await out(a, RELEASE, { key: 1n, type: WERO })).status, 0);
  assert.equal(await reservation(a), undefined);
  assert.deepEqual(await ua(b), [0x2a, 0x04]);
  assert.equal(await ua(a), undefined);
  assert.equal(await ua(c), undefined); // not registered
  // Write Exclusive: no unit attention.
  await out(a, RESERVE, { key: 1n, type: WE });
  await out(a, RELEASE, { key: 1n, type: WE });
  assert.equal(await ua(b), undefined);
});

test('unregistering the holder releases the reservation (all-registrants: only with the last registrant)', async () => {
  const { a, b } = three();
  await out(a, REGISTER, { sark: 1n });
  await out(b, REGISTER, { sark: 2n });
  await out(a, RESERVE, { key: 1n, type: EARO });
  await out(a, REGISTER, { key: 1n });
  assert.equal(await reservation(a), undefined);
  assert.deepEqual(await ua(b), [0x2a, 0x04]);
  assert.equal(await ua(a), undefined);
  await out(a, REGISTER, { sark: 1n });
  await out(a, RESERVE, { key: 1n, type: EAAR });
  await out(a, REGISTER, { key: 1n });
  assert.deepEqual(await reservation(b), { key: 0n, type: EAAR });
  assert.equal((await run(b, cdb10(0x28, 0, 1), { edtl: 512 })).status, 0);
  await out(b, REGISTER, { key: 2n });
  assert.equal(await reservation(b), undefined);
});

test('CLEAR: everything goes, RESERVATIONS PREEMPTED for the other registrants, PRGENERATION + 1', async () => {
  const { a, b, c } = three();
  await out(a, REGISTER, { sark: 1n });
  await out(b, REGISTER, { sark: 2n });
  await out(a, RESERVE, { key: 1n, type: EA });
  assert.equal((await out(c, CLEAR, { key: 0n })).status, 0x18);
  assert.equal((await out(b, CLEAR, { key: 3n })).status, 0x18);
  const gen = (await keys(a)).generation;
  assert.equal((await out(b, CLEAR, { key: 2n })).status, 0);
  assert.deepEqual(await ua(a), [0x2a, 0x03]);
  assert.deepEqual(await keys(a), { generation: gen + 1, keys: [] });
  assert.equal(await ua(b), undefined);
  assert.equal(await ua(c), undefined);
  assert.equal(await reservation(c), undefined);
});

test('PREEMPT without a reservation removes registrations (REGISTRATIONS PREEMPTED); SARK 0 / unknown key', async () => {
  const { a, b } = three();
  await out(a, RIEK, { sark: 0xa1n });
  await out(b, RIEK, { sark: 0xb2n });
  const gen = (await keys(a)).generation;
  assert.deepEqual(asc(await out(b, PREEMPT, { key: 0xb2n, sark: 0n, type: EA })), [5, 0x26, 0]);
  assert.equal((await out(b, PREEMPT, { key: 0xb2n, sark: 0x77n, type: EA })).status, 0x18);
  assert.equal((await out(b, PREEMPT, { key: 0xb2n, sark: 0xa1n, type: EA })).status, 0);
  assert.deepEqual(await ua(a), [0x2a, 0x05]);
  assert.equal(await ua(b), undefined);
  assert.deepEqual(await keys(a), { generation: gen + 1, keys: [0xb2n] });
  assert.equal(await reservation(a), undefined);
});

test('PREEMPT of the holder: new holder and type; RESERVATIONS RELEASED to remaining registrants when the type changes', async () => {
  const { a, b, c } = three();
  await out(a, REGISTER, { sark: 1n });
  await out(b, REGISTER, { sark: 2n });
  await out(c, REGISTER, { sark: 3n });
  await out(a, RESERVE, { key: 1n, type: WE });
  assert.equal((await out(b, PREEMPT, { key: 2n, sark: 1n, type: EA })).status, 0);
  assert.deepEqual(await reservation(b), { key: 2n, type: EA });
  assert.deepEqual((await keys(b)).keys, [2n, 3n]);
  assert.deepEqual(await ua(a), [0x2a, 0x05]);
  assert.deepEqual(await ua(c), [0x2a, 0x04]);
  // Preempting a non-holder key leaves the reservation alone.
  assert.equal((await out(b, PREEMPT, { key: 2n, sark: 3n, type: EA })).status, 0);
  assert.deepEqual(await reservation(b), { key: 2n, type: EA });
  assert.deepEqual(await ua(c), [0x2a, 0x05]);
});

test('PREEMPT under an all-registrants reservation with SARK 0 takes everything over', async () => {
  const { a, b, c } = three();
  await out(a, REGISTER, { sark: 1n });
  await out(b, REGISTER, { sark: 2n });
  await out(c, REGISTER, { sark: 3n });
  await out(a, RESERVE, { key: 1n, type: WEAR });
  assert.equal((await out(b, PREEMPT, { key: 2n, sark: 0n, type: EA })).status, 0);
  assert.deepEqual((await keys(b)).keys, [2n]);
  assert.deepEqual(await reservation(b), { key: 2n, type: EA });
  assert.deepEqual(await ua(a), [0x2a, 0x05]);
  assert.deepEqual(await ua(c), [0x2a, 0x05]);
});

test('PREEMPT AND ABORT aborts the preempted nexus tasks, not the issuer', async () => {
  const { f, a, b } = three();
  await out(a, REGISTER, { sark: 1n });
  await out(b, REGISTER, { sark: 2n });
  await out(a, RESERVE, { key: 1n, type: WERO });
  let gateOpen!: () => void;
  f.dev.gate = new Promise<void>((r) => (gateOpen = r));
  const stuck = a.execute(request(cdb10(0x28, 0, 1), { edtl: 512 }));
  await new Promise((r) => setImmediate(r));
  const p = out(b, PAA, { key: 2n, sark: 1n, type: EARO });
  await new Promise((r) => setImmediate(r));
  f.dev.gate = undefined;
  gateOpen();
  assert.equal((await p).status, 0);
  assert.equal(await stuck.outcome, ABORTED);
  assert.deepEqual(await reservation(b), { key: 2n, type: EARO });
  assert.deepEqual(await ua(a), [0x2a, 0x05]);
  assert.equal((await run(a, cdb10(0x28, 0, 1), { edtl: 512 })).status, 0x18);
});

test('REGISTER AND MOVE hands the reservation to another I_T nexus (optionally unregistering the source)', async () => {
  const { a, b } = three();
  const tid = encodeTransportId({ name: 'iqn.2024-01.test:b', isid: '000000000001' });
  const move = (key: bigint, sark: bigint, flags17: number, rtpi = 1, id = tid) => {
    const d = Buffer.alloc(24 + id.length);
    d.writeBigUInt64BE(key, 0);
    d.writeBigUInt64BE(sark, 8);
    d[17] = flags17;
    d.writeUInt16BE(rtpi, 18);
    d.writeUInt32BE(id.length, 20);
    id.copy(d, 24);
    return run(a, [0x5f, MOVE, 0, 0, 0, 0, 0, 0, d.length, 0], { data: d });
  };
  await out(a, REGISTER, { sark: 1n });
  assert.equal((await move(1n, 5n, 0)).status, 0x18); // no reservation
  await out(a, RESERVE, { key: 1n, type: EA });
  assert.deepEqual(asc(await move(1n, 0n, 0)), [5, 0x26, 0]);
  assert.deepEqual(asc(await move(1n, 5n, 0, 9)), [5, 0x26, 0]); // unknown relative port
  const self = encodeTransportId({ name: 'iqn.2024-01.test:a', isid: '000000000001' });
  assert.deepEqual(asc(await move(1n, 5n, 0, 1, self)), [5, 0x26, 0]);
  assert.deepEqual(asc(await move(1n, 5n, 0x01)), [5, 0x26, 0]); // APTPL without a store
  const gen = (await keys(a)).generation;
  assert.equal((await move(1n, 5n, 0x02)).status, 0);
  assert.deepEqual(await keys(b), { generation: gen + 1, keys: [5n] });
  assert.deepEqual(await reservation(b), { key: 5n, type: EA });
  assert.equal((await run(b, cdb10(0x2a, 0, 1), { data: Buffer.alloc(512) })).status, 0);
  assert.equal((await run(a, cdb10(0x28, 0, 1), { edtl: 512 })).status, 0x18);
});

test('APTPL: state saved after each change while active, restored by a new LU, dropped when switched off', async () => {
  const saved: PrState[] = [];
  const store: PrStore = { load: () => saved.at(-1), save: async (s) => void saved.push(structuredClone(s)) };
  const make = () => {
    const unit = createLogicalUnit({ device: memoryDevice(), name: 'd', wwn: WWN, vendor: 'V', product: 'P', revision: '1', prStore: store });
    const view = makeView([{ lun: 0, unit, writeProtect: false }]);
    return (id: string) => openNexus(makeNexus(id), view, { units: () => [unit] });
  };
  const open1 = make();
  const a = open1('a');
  assert.equal((await out(a, REGISTER, { sark: 0x1n })).status, 0);
  assert.equal(saved.length, 0); // APTPL never active: nothing to save
  assert.equal((await out(a, REGISTER, { key: 0x1n, sark: 0xa1n, flags: 0x01 })).status, 0);
  assert.equal((await out(a, RESERVE, { key: 0xa1n, type: WE })).status, 0);
  assert.equal(saved.length, 2);
  assert.deepEqual(saved[1].reservation, { type: WE, scope: 0, holder: 0 });
  assert.equal(saved[1].registrations[0].key, '00000000000000a1');
  // "Power cycle": a new LU from the same store.
  const open2 = make();
  const a2 = open2('a');
  assert.deepEqual(await reservation(a2), { key: 0xa1n, type: WE });
  assert.equal((await run(open2('b'), cdb10(0x2a, 0, 1), { data: Buffer.alloc(512) })).status, 0x18);
  // APTPL=0 on the next REGISTER: the stored state becomes non-persistent.
  assert.equal((await out(a2, REGISTER, { key: 0xa1n, sark: 0xa2n })).status, 0);
  assert.equal(saved.at(-1)!.aptpl, false);
  const a3 = make()('a');
  assert.equal(await reservation(a3), undefined);
  assert.deepEqual((await keys(a3)).keys, []);
});

test('a failing store turns the command into HARDWARE ERROR', async () => {
  const store: PrStore = { load: () => undefined, save: async () => Promise.reject(new Error('disk full')) };
  const unit = createLogicalUnit({ device: memoryDevice(), name: 'd', wwn: WWN, vendor: 'V', product: 'P', revision: '1', prStore: store });
  const n = openNexus(makeNexus('a'), makeView([{ lun: 0, unit, writeProtect: false }]), { units: () => [unit] });
  assert.deepEqual(asc(await out(n, REGISTER, { sark: 1n, flags: 0x01 })), [4, 0x44, 0]);
});

test('persistent reservations survive LOGICAL UNIT RESET, target reset and I_T nexus loss', async () => {
  const { f, a, b } = three();
  await out(a, REGISTER, { sark: 1n });
  await out(a, RESERVE, { key: 1n, type: EA });
  await a.taskManagement({ function: 'logical-unit-reset', lun: Buffer.alloc(8) });
  await b.taskManagement({ function: 'target-warm-reset', lun: Buffer.alloc(8) });
  assert.deepEqual(await ua(a), [0x29, 0x02]);
  assert.deepEqual(await reservation(a), { key: 1n, type: EA });
  a.close();
  const again = f.open('a2', 'iqn.2024-01.test:a,i,0x1');
  assert.deepEqual(await ua(again), [0x29, 0x07]);
  assert.deepEqual(await reservation(again), { key: 1n, type: EA });
  assert.equal((await run(again, cdb10(0x28, 0, 1), { edtl: 512 })).status, 0);
  assert.deepEqual(await ua(b), [0x29, 0x03]);
  assert.equal((await run(b, cdb10(0x28, 0, 1), { edtl: 512 })).status, 0x18);
});
