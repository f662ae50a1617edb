import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ScsiNexusHandle } from '../../src/scsi/api.js';
import { cdb10, fixture, run } from './harness.js';

const CONFLICT = 0x18;
const WE = 1, EA = 3, WERO = 5, EARO = 6, WEAR = 7, EAAR = 8;

function prout(sa: number, key: bigint, sark: bigint, type = 0): { cdb: number[]; data: Buffer } {
  const data = Buffer.alloc(24);
  data.writeBigUInt64BE(key, 0);
  data.writeBigUInt64BE(sark, 8);
  return { cdb: [0x5f, sa, type, 0, 0, 0, 0, 0, 24, 0], data };
}

async function out(n: ScsiNexusHandle, sa: number, key: bigint, sark: bigint, type = 0): Promise<number> {
  const { cdb, data } = prout(sa, key, sark, type);
  return (await run(n, cdb, { data })).status;
}

/** Commands by SPC-4 Table 49 / SBC-3 Table 13 class. */
const COMMANDS: { name: string; cdb: number[]; access: 'allowed' | 'read' | 'write'; data?: Buffer; edtl?: number }[] = [
  { name: 'TEST UNIT READY', cdb: [0, 0, 0, 0, 0, 0], access: 'allowed' },
  { name: 'INQUIRY', cdb: [0x12, 0, 0, 0, 36, 0], access: 'allowed', edtl: 36 },
  { name: 'REPORT LUNS', cdb: [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0], access: 'allowed', edtl: 64 },
  { name: 'REQUEST SENSE', cdb: [0x03, 0, 0, 0, 18, 0], access: 'allowed', edtl: 18 },
  { name: 'READ CAPACITY(10)', cdb: [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], access: 'allowed', edtl: 8 },
  { name: 'PERSISTENT RESERVE IN', cdb: [0x5e, 0, 0, 0, 0, 0, 0, 0, 64, 0], access: 'allowed', edtl: 64 },
  { name: 'PREVENT ALLOW (PREVENT=0)', cdb: [0x1e, 0, 0, 0, 0, 0], access: 'allowed' },
  { name: 'PREVENT ALLOW (PREVENT=1)', cdb: [0x1e, 0, 0, 0, 1, 0], access: 'write' },
  { name: 'READ(10)', cdb: cdb10(0x28, 0, 1), access: 'read', edtl: 512 },
  { name: 'VERIFY(10)', cdb: cdb10(0x2f, 0, 1), access: 'read' },
  { name: 'MODE SENSE(6)', cdb: [0x1a, 0, 0x3f, 0, 255, 0], access: 'read', edtl: 255 },
  { name: 'WRITE(10)', cdb: cdb10(0x2a, 0, 1), access: 'write', data: Buffer.alloc(512) },
  { name: 'SYNCHRONIZE CACHE(10)', cdb: [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], access: 'write' },
];

type Role = 'holder' | 'registered' | 'unregistered';

/** SPC-4 §5.9.1 / Table 49: does a command of this class conflict for this role under this type? */
const EXPECTED: Record<number, Record<Exclude<Role, 'holder'>, { read: boolean; write: boolean }>> = {
  [WE]: { registered: { read: false, write: true }, unregistered: { read: false, write: true } },
  [EA]: { registered: { read: true, write: true }, unregistered: { read: true, write: true } },
  [WERO]: { registered: { read: false, write: false }, unregistered: { read: false, write: true } },
  [EARO]: { registered: { read: false, write: false }, unregistered: { read: true, write: true } },
  [WEAR]: { registered: { read: false, write: false }, unregistered: { read: false, write: true } },
  [EAAR]: { registered: { read: false, write: false }, unregistered: { read: true, write: true } },
};

for (const type of [WE, EA, WERO, EARO, WEAR, EAAR]) {
  test(`reservation type ${type}: conflicts per role and command class`, async () => {
    const f = fixture();
    const roles: Record<Role, ScsiNexusHandle> = { holder: f.open('h'), registered: f.open('r'), unregistered: f.open('u') };
    assert.equal(await out(roles.holder, 0, 0n, 0x1n), 0);
    assert.equal(await out(roles.registered, 0, 0n, 0x2n), 0);
    assert.equal(await out(roles.holder, 1, 0x1n, 0n, type), 0);
    for (const role of ['holder', 'registered', 'unregistered'] as const) {
      for (const c of COMMANDS) {
        const r = await run(roles[role], c.cdb, { data: c.data, edtl: c.edtl ?? c.data?.length ?? 0 });
        const expected = c.access !== 'allowed' && role !== 'holder' && EXPECTED[type][role][c.access];
        assert.equal(r.status === CONFLICT, expected, `${role} ${c.name}: status ${r.status}`);
      }
    }
    // PERSISTENT RESERVE OUT is judged by the service action itself: REGISTER is open to anyone.
    assert.equal(await out(roles.unregistered, 0, 0n, 0x3n), 0);
    // Once the reservation is released nobody conflicts.
    assert.equal(await out(roles.holder, 2, 0x1n, 0n, type), 0);
    for (const role of ['registered', 'unregistered'] as const) {
      await run(roles[role], [0, 0, 0, 0, 0, 0]); // RESERVATIONS RELEASED, if any
      const w = await run(roles[role], cdb10(0x2a, 0, 1), { data: Buffer.alloc(512) });
      assert.equal(w.status, 0, `${role} WRITE after release`);
    }
  });
}

test('SPC-2 RESERVE/RELEASE next to persistent reservations (SPC-4 §5.9.3, CRH=1)', async () => {
  const f = fixture();
  const a = f.open('a');
  const b = f.open('b');
  const c = f.open('c');
  assert.equal(await out(a, 0, 0n, 0xan), 0);
  // Registrations exist: unregistered nexuses conflict on RESERVE and RELEASE.
  assert.equal((await run(c, [0x16, 0, 0, 0, 0, 0])).status, CONFLICT);
  assert.equal((await run(c, [0x17, 0, 0, 0, 0, 0])).status, CONFLICT);
  // A registrant without a reservation conflicts too.
  assert.equal((await run(a, [0x16, 0, 0, 0, 0, 0])).status, CONFLICT);
  // The holder's RESERVE(6)/(10) completes with GOOD and creates nothing.
  assert.equal(await out(a, 1, 0xan, 0n, WE), 0);
  assert.equal((await run(a, [0x16, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(a, [0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(c, cdb10(0x28, 0, 1), { edtl: 512 })).status, 0);
  // RELEASE(6) from the holder leaves the persistent reservation alone.
  assert.equal((await run(a, [0x17, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(c, cdb10(0x2a, 0, 1), { data: Buffer.alloc(512) })).status, CONFLICT);
  // A registrant under a registrants-only reservation: GOOD, no effect.
  assert.equal(await out(a, 2, 0xan, 0n, WE), 0);
  assert.equal(await out(b, 0, 0n, 0xbn), 0);
  assert.equal(await out(a, 1, 0xan, 0n, WERO), 0);
  assert.equal((await run(b, [0x16, 0, 0, 0, 0, 0])).status, 0);
  assert.equal((await run(c, cdb10(0x28, 0, 1), { edtl: 512 })).status, 0);
});

test('an SPC-2 reservation held by another nexus blocks PERSISTENT RESERVE IN/OUT', async () => {
  const f = fixture();
  const a = f.open('a');
  const b = f.open('b');
  assert.equal((await run(a, [0x16, 0, 0, 0, 0, 0])).status, 0);
  assert.equal(await out(b, 0, 0n, 0xbn), CONFLICT);
  assert.equal((await run(b, [0x5e, 0, 0, 0, 0, 0, 0, 0, 64, 0], { edtl: 64 })).status, CONFLICT);
  // The holder itself may register; afterwards RELEASE(6) conflicts for it (registrations exist).
  assert.equal(await out(a, 0, 0n, 0xan), 0);
  assert.equal((await run(a, [0x17, 0, 0, 0, 0, 0])).status, CONFLICT);
  // LU reset drops the SPC-2 reservation but not the registration.
  assert.equal(await a.taskManagement({ function: 'logical-unit-reset', lun: Buffer.alloc(8) }), 'function-complete');
  await run(b, [0, 0, 0, 0, 0, 0]);
  const keys = await run(b, [0x5e, 0, 0, 0, 0, 0, 0, 0, 64, 0], { edtl: 64 });
  assert.equal(keys.status, 0);
  assert.equal(keys.data!.readUInt32BE(4), 8);
});
