// Explicit ALUA in the SCSI core: REPORT TARGET PORT GROUPS from the shared
// group state, SET TARGET PORT GROUPS (parse, errors, unit attention), the
// TPGS field, the VPD 83h target port group, and access-state gating.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AluaGroupOptions, AluaOptions, AluaPortOptions, AluaSavedState, Nexus, ScsiNexusHandle } from '../../src/scsi/api.js';
import { createLogicalUnit, unitState } from '../../src/scsi/logical-unit.js';
import { openNexus, type TargetScope } from '../../src/scsi/nexus.js';
import { AccessState, aluaSaved, changeAccessStateImplicitly } from '../../src/scsi/alua.js';
import { allowedInState } from '../../src/scsi/alua-gating.js';
import { clearUnitAttentions, makeView, run, sense, WWN } from './harness.js';
import { memoryDevice } from './memory-device.js';

const TARGET = 'iqn.2024-01.test:target';

function group(id: number, name: string, o: Partial<AluaGroupOptions> = {}): AluaGroupOptions {
  return { id, name, state: 0, status: 0, implicit: true, explicit: true, supportedStates: 0xcf, preferred: false, implicitTransitionSeconds: 0, ...o };
}

const TWO_PORTS: AluaPortOptions[] = [
  { targetName: TARGET, relativeTargetPortId: 1, groupId: 10 },
  { targetName: TARGET, relativeTargetPortId: 2, groupId: 20 },
];

function nexusAt(id: string, rtpi: number, targetName = TARGET): Nexus {
  return {
    id,
    initiatorName: `iqn.2024-01.test:${id}`,
    initiatorPortName: `iqn.2024-01.test:${id},i,0x1`,
    targetName,
    targetPortName: `${targetName},t,0x${rtpi.toString(16).padStart(4, '0')}`,
    relativeTargetPortId: rtpi,
    targetPortGroupId: rtpi,
  };
}

function setup(groups: AluaGroupOptions[] | undefined, ports: AluaPortOptions[] = TWO_PORTS, store?: AluaOptions['store']) {
  const unit = createLogicalUnit({
    device: memoryDevice(),
    name: 'disk0',
    wwn: WWN,
    vendor: 'TSGT',
    product: 'memdisk',
    revision: '0.1',
    alua: groups === undefined ? undefined : { groups, ports, store },
  });
  const view = makeView([{ lun: 0, unit, writeProtect: false }]);
  const scope: TargetScope = { units: () => [unit] };
  const open = async (id: string, rtpi: number): Promise<ScsiNexusHandle> => {
    const n = openNexus(nexusAt(id, rtpi), view, scope);
    await clearUnitAttentions(n);
    return n;
  };
  return { unit, open };
}

const twoGroups = (o20: Partial<AluaGroupOptions> = {}) => [group(10, 'east', { preferred: true, implicitTransitionSeconds: 7 }), group(20, 'west', o20)];

const RTPG = [0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
const RTPG_EXT = [0xa3, 0x2a, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];

function stpgCdb(length: number): number[] {
  return [0xa4, 0x0a, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff, 0, 0];
}

function stpgList(descriptors: [state: number, id: number][]): Buffer {
  const b = Buffer.alloc(4 + 4 * descriptors.length);
  descriptors.forEach(([state, id], i) => {
    b[4 + 4 * i] = state;
    b.writeUInt16BE(id, 4 + 4 * i + 2);
  });
  return b;
}

function stpg(n: ScsiNexusHandle, list: Buffer) {
  return run(n, stpgCdb(list.length), { data: list, edtl: list.length, direction: 'write' });
}

async function rtpg(n: ScsiNexusHandle, cdb = RTPG): Promise<Buffer> {
  const r = await run(n, cdb, { edtl: 256 });
  assert.equal(r.status, 0, 'RTPG GOOD');
  return r.data!;
}

/** Decoded descriptors: [id, byte0, byte1, status, ports]. */
function descriptors(d: Buffer, headerLength = 4) {
  const out: { id: number; pref: boolean; state: number; sup: number; status: number; ports: number[] }[] = [];
  for (let off = headerLength; off < 4 + d.readUInt32BE(0); ) {
    const count = d[off + 7];
    const ports = Array.from({ length: count }, (_, i) => d.readUInt16BE(off + 8 + 4 * i + 2));
    out.push({ id: d.readUInt16BE(off + 2), pref: (d[off] & 0x80) !== 0, state: d[off] & 0x0f, sup: d[off + 1], status: d[off + 5], ports });
    off += 8 + 4 * count;
  }
  return out;
}

test('RTPG: every configured group with its shared state, the same bytes through both ports', async () => {
  const { open } = setup([group(10, 'east', { preferred: true }), group(20, 'west', { state: 1, status: 2, supportedStates: 0x07 })]);
  const a = await open('a', 1);
  const b = await open('b', 2);
  const da = await rtpg(a);
  assert.ok(da.equals(await rtpg(b)), 'same answer through either port');
  assert.deepEqual(descriptors(da), [
    { id: 10, pref: true, state: 0, sup: 0xcf, status: 0, ports: [1] },
    { id: 20, pref: false, state: 1, sup: 0x07, status: 2, ports: [2] },
  ]);
  assert.equal(da.readUInt32BE(0), 24);
});

test('RTPG extended header: format type 1 and the asking port group implicit transition time', async () => {
  const { open } = setup(twoGroups());
  const a = await open('a', 1);
  const b = await open('b', 2);
  const ea = await rtpg(a, RTPG_EXT);
  assert.equal(ea[4], 0x10);
  assert.equal(ea[5], 7, 'group east: implicit_trans_secs 7');
  assert.equal((await rtpg(b, RTPG_EXT))[5], 0, 'group west: 0');
  assert.equal(descriptors(ea, 8).length, 2);
});

test('RTPG: ports of another target are not listed; a group without ports here has a count of 0', async () => {
  const ports = [...TWO_PORTS, { targetName: 'iqn.2024-01.test:other', relativeTargetPortId: 1, groupId: 20 }];
  const { open } = setup(twoGroups(), ports.filter((p) => p.groupId !== 20 || p.targetName !== TARGET));
  const a = await open('a', 1);
  assert.deepEqual(descriptors(await rtpg(a)).map((g) => [g.id, g.ports]), [[10, [1]], [20, []]]);
});

test('INQUIRY TPGS follows the access type of the port group; VPD 83h names that group', async () => {
  const { open } = setup([group(10, 'east', { explicit: false }), group(20, 'west', { implicit: false })]);
  const a = await open('a', 1);
  const b = await open('b', 2);
  const std = async (n: ScsiNexusHandle) => (await run(n, [0x12, 0, 0, 0, 96, 0], { edtl: 96 })).data!;
  assert.equal((await std(a))[5] & 0x30, 0x10, 'implicit only');
  assert.equal((await std(b))[5] & 0x30, 0x20, 'explicit only');
  assert.equal((await std(a))[5] & 0x08, 0x08, '3PC kept');
  const tpgDesignator = async (n: ScsiNexusHandle) => {
    const d = (await run(n, [0x12, 1, 0x83, 1, 0, 0], { edtl: 256 })).data!;
    for (let off = 4; off < d.length; off += 4 + d[off + 3]) if ((d[off + 1] & 0x0f) === 0x5) return d.readUInt16BE(off + 6);
    return -1;
  };
  assert.equal(await tpgDesignator(a), 10);
  assert.equal(await tpgDesignator(b), 20);
  const both = setup(twoGroups());
  assert.equal((await std(await both.open('c', 1)))[5] & 0x30, 0x30, 'both');
});

test('without configured groups: TPGS 01b, SET TARGET PORT GROUPS is not offered', async () => {
  const { open } = setup(undefined);
  const a = await open('a', 1);
  assert.equal((await run(a, [0x12, 0, 0, 0, 96, 0], { edtl: 96 })).data![5] & 0x30, 0x10);
  const s = sense(await stpg(a, stpgList([[2, 1]])));
  assert.deepEqual([s.key, s.asc, s.ascq], [5, 0x24, 0], 'unknown service action: INVALID FIELD IN CDB');
  const rsoc = (await run(a, [0xa3, 0x0c, 0x02, 0xa4, 0, 0x0a, 0, 0, 0, 64, 0, 0], { edtl: 64 })).data!;
  assert.equal(rsoc[1] & 0x07, 0x01, 'RSOC: not supported');
});

test('REPORT SUPPORTED OPERATION CODES lists SET TARGET PORT GROUPS when a group is explicit', async () => {
  const { open } = setup(twoGroups());
  const a = await open('a', 1);
  const rsoc = (await run(a, [0xa3, 0x0c, 0x02, 0xa4, 0, 0x0a, 0, 0, 0, 64, 0, 0], { edtl: 64 })).data!;
  assert.equal(rsoc[1] & 0x07, 0x03, 'supported');
  assert.equal(rsoc.readUInt16BE(2), 12, 'CDB length 12');
  assert.equal(rsoc[4], 0xa4);
});

test('SET TARGET PORT GROUPS moves the other group to standby; every other nexus gets 2A/06', async () => {
  const { open, unit } = setup(twoGroups());
  const a = await open('a', 1);
  const a2 = await open('a2', 1);
  const b = await open('b', 2);
  const r = await stpg(a, stpgList([[AccessState.Standby, 20]]));
  assert.equal(r.status, 0);
  const d = descriptors(await rtpg(a));
  assert.deepEqual(d.map((g) => [g.id, g.state, g.status]), [[10, 0, 0], [20, 2, 1]]);
  // The sender is not told (its GOOD status is the news); the others are.
  assert.equal((await run(a, [0, 0, 0, 0, 0, 0])).status, 0);
  const ua = sense(await run(a2, [0, 0, 0, 0, 0, 0]));
  assert.deepEqual([ua.key, ua.asc, ua.ascq], [6, 0x2a, 0x06]);
  const uab = sense(await run(b, [0x12, 0, 0, 0, 36, 0, 0, 0, 0, 0], { edtl: 36 }).then(() => run(b, [0, 0, 0, 0, 0, 0])));
  assert.deepEqual([uab.key, uab.asc, uab.ascq], [6, 0x2a, 0x06], 'INQUIRY does not consume the UA');
  // Through port 2 (standby) TEST UNIT READY is now refused.
  const nr = sense(await run(b, [0, 0, 0, 0, 0, 0]));
  assert.deepEqual([nr.key, nr.asc, nr.ascq], [2, 0x04, 0x0b]);
  assert.equal(unitState(unit).alua?.groups.get(20)?.state, AccessState.Standby);
  // Back to active/optimized, sent through the standby port (SET TPG is allowed in standby).
  assert.equal((await stpg(b, stpgList([[AccessState.ActiveOptimized, 20]]))).status, 0);
  assert.equal((await run(b, [0, 0, 0, 0, 0, 0])).status, 0);
});

test('SET TARGET PORT GROUPS to the state a group already has: GOOD, no unit attention, status kept', async () => {
  const { open } = setup(twoGroups());
  const a = await open('a', 1);
  const b = await open('b', 2);
  assert.equal((await stpg(a, stpgList([[0, 20]]))).status, 0);
  assert.equal((await run(b, [0, 0, 0, 0, 0, 0])).status, 0);
  assert.equal(descriptors(await rtpg(a))[1].status, 0);
});

test('SET TARGET PORT GROUPS parameter list errors change nothing', async () => {
  const cases: [string, Buffer, [number, number, number], number?][] = [
    ['unknown group', stpgList([[2, 99]]), [5, 0x26, 0], 6],
    ['transitioning cannot be requested', stpgList([[0xf, 20]]), [5, 0x26, 0], 4],
    ['LBA dependent is not implemented', stpgList([[4, 20]]), [5, 0x26, 0], 4],
    ['reserved state', stpgList([[7, 20]]), [5, 0x26, 0], 4],
    ['state the group does not support', stpgList([[3, 20]]), [5, 0x26, 0], 4],
    ['group named twice', stpgList([[2, 20], [1, 20]]), [5, 0x26, 0], 10],
    ['valid first descriptor, invalid second', stpgList([[2, 10], [2, 99]]), [5, 0x26, 0], 10],
    ['group without explicit ALUA', stpgList([[2, 30]]), [5, 0x26, 0], 6],
    ['unknown port to take offline', stpgList([[0xe, 9]]), [5, 0x26, 0], 6],
    ['length not a multiple of 4', Buffer.concat([stpgList([[2, 20]]), Buffer.alloc(2)]), [5, 0x1a, 0]],
    ['shorter than the header', Buffer.alloc(3), [5, 0x1a, 0]],
  ];
  for (const [what, list, expected, byte] of cases) {
    const { open } = setup([...twoGroups({ supportedStates: 0x07 }), group(30, 'ro', { explicit: false })], [
      ...TWO_PORTS,
      { targetName: TARGET, relativeTargetPortId: 3, groupId: 30 },
    ]);
    const a = await open('a', 1);
    const b = await open('b', 2);
    const s = sense(await stpg(a, list));
    assert.deepEqual([s.key, s.asc, s.ascq], expected, what);
    if (byte !== undefined) {
      assert.equal(s.sks![0] & 0x40, 0, `${what}: field in the parameter list`);
      assert.equal(s.sks!.readUInt16BE(1), byte, `${what}: field pointer`);
    }
    assert.deepEqual(descriptors(await rtpg(a)).map((g) => g.state), [0, 0, 0], `${what}: no state changed`);
    assert.equal((await run(b, [0, 0, 0, 0, 0, 0])).status, 0, `${what}: no unit attention`);
  }
});

test('SET TARGET PORT GROUPS through a port whose group is not explicit: INVALID COMMAND OPERATION CODE (as LIO)', async () => {
  const { open } = setup([group(10, 'east', { explicit: false }), group(20, 'west')]);
  const a = await open('a', 1);
  const s = sense(await stpg(a, stpgList([[2, 20]])));
  assert.deepEqual([s.key, s.asc, s.ascq], [5, 0x20, 0]);
  const s2 = sense(await stpg(await open('b', 2), stpgList([[2, 10]])));
  assert.deepEqual([s2.key, s2.asc, s2.sks!.readUInt16BE(1)], [5, 0x26, 6], 'west may not change east (implicit-only) either');
});

test('SET TARGET PORT GROUPS with a zero-length parameter list: GOOD, nothing changes', async () => {
  const { open } = setup(twoGroups());
  const a = await open('a', 1);
  const r = await run(a, stpgCdb(0), { edtl: 0, direction: 'none' });
  assert.equal(r.status, 0);
  assert.deepEqual(descriptors(await rtpg(a)).map((g) => g.state), [0, 0]);
});

test('offline (secondary state) set on a port refuses every command through it with 04/12', async () => {
  const { open } = setup(twoGroups());
  const a = await open('a', 1);
  const b = await open('b', 2);
  assert.equal((await stpg(a, stpgList([[0xe, 2]]))).status, 0);
  await run(b, [0, 0, 0, 0, 0, 0]); // the unit attention
  for (const cdb of [[0, 0, 0, 0, 0, 0], [0x12, 0, 0, 0, 36, 0], RTPG]) {
    const s = sense(await run(b, cdb, { edtl: 256 }));
    assert.deepEqual([s.key, s.asc, s.ascq], [2, 0x04, 0x12], `opcode ${cdb[0].toString(16)}`);
  }
  assert.equal((await run(a, [0, 0, 0, 0, 0, 0])).status, 0, 'port 1 unaffected');
  assert.deepEqual(descriptors(await rtpg(a)).map((g) => g.state), [0, 0], 'group states unchanged');
});

test('gating: what each access state admits (SPC-4 §5.15.2.4)', () => {
  const cdb = (...b: number[]) => Buffer.from([...b, ...new Array(16 - b.length).fill(0)]);
  const TUR = cdb(0x00);
  const INQUIRY = cdb(0x12);
  const REPORT_LUNS = cdb(0xa0);
  const REQUEST_SENSE = cdb(0x03);
  const RTPG_CDB = cdb(0xa3, 0x0a);
  const RSOC = cdb(0xa3, 0x0c);
  const STPG = cdb(0xa4, 0x0a);
  const READ10 = cdb(0x28);
  const WRITE10 = cdb(0x2a);
  const RC10 = cdb(0x25);
  const RC16 = cdb(0x9e, 0x10);
  const MODE_SENSE = cdb(0x1a);
  const PR_IN = cdb(0x5e);
  const LOG_SENSE = cdb(0x4d);
  const ECHO_READ = cdb(0x3c, 0x0a);
  const DATA_READ_BUFFER = cdb(0x3c, 0x02);
  const table: [number, Buffer[], Buffer[]][] = [
    [AccessState.ActiveOptimized, [TUR, READ10, WRITE10, RSOC, STPG], []],
    [AccessState.ActiveNonOptimized, [TUR, READ10, WRITE10, RSOC, STPG], []],
    [AccessState.Standby, [INQUIRY, REPORT_LUNS, REQUEST_SENSE, RTPG_CDB, STPG, MODE_SENSE, PR_IN, LOG_SENSE, RC10, RC16, ECHO_READ], [TUR, READ10, WRITE10, RSOC, DATA_READ_BUFFER]],
    [AccessState.Unavailable, [INQUIRY, REPORT_LUNS, REQUEST_SENSE, RTPG_CDB, STPG, ECHO_READ], [TUR, READ10, MODE_SENSE, PR_IN, RC10, RC16]],
    [AccessState.Transitioning, [INQUIRY, REPORT_LUNS, REQUEST_SENSE, RTPG_CDB, ECHO_READ], [TUR, READ10, STPG, MODE_SENSE, RC10]],
    [AccessState.Offline, [], [INQUIRY, REPORT_LUNS, REQUEST_SENSE, RTPG_CDB, TUR]],
  ];
  for (const [state, allowed, refused] of table) {
    for (const c of allowed) assert.equal(allowedInState(state, c), true, `state ${state} admits ${c.subarray(0, 2).toString('hex')}`);
    for (const c of refused) assert.equal(allowedInState(state, c), false, `state ${state} refuses ${c.subarray(0, 2).toString('hex')}`);
  }
});

test('gating through the dispatcher: the ASCQ of each configured state', async () => {
  const cases: [number, number][] = [
    [AccessState.Standby, 0x0b],
    [AccessState.Unavailable, 0x0c],
    [AccessState.Transitioning, 0x0a],
    [AccessState.Offline, 0x12],
  ];
  for (const [state, ascq] of cases) {
    // Opened without clearUnitAttentions: its TEST UNIT READY is refused in these states.
    const fresh = setup(twoGroups({ state }));
    const view = makeView([{ lun: 0, unit: fresh.unit, writeProtect: false }]);
    const nb = openNexus(nexusAt('nb', 2), view, { units: () => [fresh.unit] });
    const s = sense(await run(nb, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], { edtl: 512 }));
    assert.deepEqual([s.key, s.asc, s.ascq], [2, 0x04, ascq], `state ${state}`);
    const na = openNexus(nexusAt('na', 1), view, { units: () => [fresh.unit] });
    assert.equal((await run(na, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], { edtl: 512 })).status, 0, 'the other port reads');
  }
});

test('active/non-optimized executes reads and writes', async () => {
  const { open } = setup(twoGroups({ state: AccessState.ActiveNonOptimized }));
  const b = await open('b', 2);
  assert.equal((await run(b, [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0], { data: Buffer.alloc(512, 7), edtl: 512 })).status, 0);
  const r = await run(b, [0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], { edtl: 512 });
  assert.equal(r.status, 0);
  assert.equal(r.data![0], 7);
});

test('an implicit transition sets status 02h and tells every nexus, the one that caused nothing included', async () => {
  const { open, unit } = setup(twoGroups());
  const a = await open('a', 1);
  const b = await open('b', 2);
  assert.equal(changeAccessStateImplicitly(unit, 20, AccessState.Unavailable), true);
  for (const n of [a, b]) {
    // The unit attention comes before the access-state check (port 2 is now unavailable).
    const s = sense(await run(n, [0, 0, 0, 0, 0, 0]));
    assert.deepEqual([s.key, s.asc, s.ascq], [6, 0x2a, 0x06]);
  }
  assert.deepEqual(descriptors(await rtpg(a)).map((g) => [g.state, g.status]), [[0, 0], [3, 2]]);
  assert.equal(changeAccessStateImplicitly(unit, 99, AccessState.Standby), false, 'unknown group');
  const implicitless = setup([group(10, 'east', { implicit: false })], [TWO_PORTS[0]]);
  assert.equal(changeAccessStateImplicitly(implicitless.unit, 10, AccessState.Standby), false, 'explicit-only group');
});

test('persistent groups: explicit changes are saved and restored at the next start', async () => {
  const saved: AluaSavedState[] = [];
  const store = { load: () => saved.at(-1), save: async (s: AluaSavedState) => void saved.push(s) };
  const groups = [group(10, 'east', { persistent: true }), group(20, 'west', { persistent: true })];
  const first = setup(groups, TWO_PORTS, store);
  const a = await first.open('a', 1);
  assert.equal((await stpg(a, stpgList([[AccessState.Standby, 20], [AccessState.ActiveNonOptimized, 10]]))).status, 0);
  await aluaSaved(first.unit);
  assert.deepEqual(saved.at(-1), { version: 1, groups: [{ id: 10, state: 1, status: 1 }, { id: 20, state: 2, status: 1 }] });
  const second = setup(groups, TWO_PORTS, store);
  const c = await second.open('c', 1);
  assert.deepEqual(descriptors(await rtpg(c)).map((g) => [g.state, g.status]), [[1, 1], [2, 1]]);
  // A saved state the group no longer supports is ignored.
  const third = setup([group(10, 'east', { persistent: true }), group(20, 'west', { persistent: true, supportedStates: 0x01 })], TWO_PORTS, store);
  assert.deepEqual(descriptors(await rtpg(await third.open('d', 1))).map((g) => g.state), [1, 0]);
});
