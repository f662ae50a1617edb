import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createPersistentReservations, fromPrState, loadPersistentReservations, persist, toPrState, type Registration } from '../../src/scsi/pr/state.js';
import { decodeTransportId, encodeTransportId, parseInitiatorPortName } from '../../src/scsi/pr/transport-id.js';
import type { PrState } from '../../src/scsi/api.js';

const name = fc.stringMatching(/^iqn\.20[0-9]{2}-[01][0-9]\.[a-z]{1,10}(\.[a-z0-9]{1,8}){0,3}(:[a-z0-9.\-]{1,40})?$/);
const isid = fc.option(fc.stringMatching(/^[0-9a-f]{12}$/), { nil: undefined });

test('iSCSI TransportID: encode/decode round trip, padding, format code', () => {
  fc.assert(
    fc.property(name, isid, (n, i) => {
      const b = encodeTransportId({ name: n, isid: i });
      assert.equal(b[0], (i === undefined ? 0x00 : 0x40) | 0x05);
      assert.equal((b.length - 4) % 4, 0);
      assert.ok(b.length - 4 >= 20);
      const d = decodeTransportId(b, 0, b.length);
      assert.ok(!('error' in d));
      assert.deepEqual(d.port, { name: n, isid: i });
      assert.equal(d.length, b.length);
    }),
  );
});

test('iSCSI TransportID: truncated, other protocols and malformed names are refused', () => {
  const good = encodeTransportId({ name: 'iqn.2024-01.x:y', isid: '0123456789ab' });
  assert.deepEqual(decodeTransportId(good, 0, good.length - 1), { error: 'truncated' });
  assert.deepEqual(decodeTransportId(good, 0, 3), { error: 'truncated' });
  const fc0 = Buffer.from(good);
  fc0[0] = 0x40 | 0x0; // Fibre Channel
  assert.deepEqual(decodeTransportId(fc0, 0, fc0.length), { error: 'unsupported' });
  const f2 = Buffer.from(good);
  f2[0] = 0x80 | 0x5;
  assert.deepEqual(decodeTransportId(f2, 0, f2.length), { error: 'unsupported' });
  const noIsid = encodeTransportId({ name: 'iqn.2024-01.x:y', isid: undefined });
  noIsid[0] = 0x45; // claims format 01b without ",i,0x"
  assert.deepEqual(decodeTransportId(noIsid, 0, noIsid.length), { error: 'malformed' });
  assert.deepEqual(decodeTransportId(Buffer.from([0x05, 0, 0, 4, 0, 0, 0, 0]), 0, 8), { error: 'malformed' });
  // Arbitrary bytes never throw.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
      const b = Buffer.from(bytes);
      decodeTransportId(b, 0, b.length);
    }),
  );
});

test('initiator port names: name + ISID, case folded, ISID padded', () => {
  assert.deepEqual(parseInitiatorPortName('IQN.2024-01.Test:A,i,0x23D000000001'), { name: 'iqn.2024-01.test:a', isid: '23d000000001' });
  assert.deepEqual(parseInitiatorPortName('iqn.2024-01.test:a,i,0x1'), { name: 'iqn.2024-01.test:a', isid: '000000000001' });
  assert.deepEqual(parseInitiatorPortName('iqn.2024-01.test:a'), { name: 'iqn.2024-01.test:a', isid: undefined });
});

const registration: fc.Arbitrary<Registration> = fc
  .record({ key: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), name, isid, all: fc.boolean(), rtpi: fc.integer({ min: 1, max: 0xffff }) })
  .map((r) => ({
    key: r.key,
    initiator: { name: r.name, isid: r.isid },
    targetName: r.all ? undefined : 'iqn.2024-01.t:x',
    relativeTargetPortId: r.all ? 0 : r.rtpi,
    allTargetPorts: r.all,
  }));

test('PrState round trip (APTPL state)', () => {
  fc.assert(
    fc.property(fc.array(registration, { maxLength: 6 }), fc.integer({ min: 0, max: 0xffffffff }), fc.nat(), fc.constantFrom(1, 3, 5, 6, 7, 8), (regs, gen, h, type) => {
      const pr = createPersistentReservations();
      pr.registrations.push(...regs);
      pr.generation = gen;
      pr.aptpl = true;
      if (regs.length > 0) pr.reservation = { type, scope: 0, holder: regs[h % regs.length] };
      const state = toPrState(pr);
      const json = JSON.parse(JSON.stringify(state)) as PrState;
      const back = fromPrState(json);
      assert.ok(back !== undefined);
      assert.deepEqual(toPrState(back), state);
      assert.equal(back.reservation?.holder, back.registrations[pr.reservation === undefined ? -1 : regs.indexOf(pr.reservation.holder)]);
    }),
  );
});

test('stored state is ignored unless APTPL and valid; a throwing load is survived', () => {
  const valid: PrState = { version: 1, generation: 3, aptpl: true, registrations: [{ key: '1', initiatorName: 'iqn.x', relativeTargetPortId: 0, allTargetPorts: true }] };
  assert.equal(fromPrState(valid)?.registrations.length, 1);
  assert.equal(fromPrState({ ...valid, aptpl: false }), undefined);
  assert.equal(fromPrState({ ...valid, version: 2 }), undefined);
  assert.equal(fromPrState({ ...valid, registrations: [{ ...valid.registrations[0], key: '0' }] }), undefined);
  assert.equal(fromPrState({ ...valid, reservation: { type: 2, scope: 0, holder: 0 } }), undefined);
  assert.equal(fromPrState({ ...valid, reservation: { type: 1, scope: 0, holder: 1 } }), undefined);
  fc.assert(fc.property(fc.jsonValue(), (v) => void fromPrState(v)));
  const pr = loadPersistentReservations({
    load: () => {
      throw new Error('corrupt');
    },
    save: async () => undefined,
  });
  assert.equal(pr.registrations.length, 0);
});

test('persist: nothing without APTPL, saves serialised in order', async () => {
  const pr = createPersistentReservations();
  const seen: number[] = [];
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  const store = {
    load: () => undefined,
    save: async (s: PrState) => {
      if (seen.length === 0) {
        seen.push(s.generation);
        await first;
        return;
      }
      seen.push(s.generation);
    },
  };
  await persist(pr, store, false);
  assert.deepEqual(seen, []);
  pr.aptpl = true;
  pr.generation = 1;
  const p1 = persist(pr, store, false);
  pr.generation = 2;
  const p2 = persist(pr, store, true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, [1]);
  release();
  await Promise.all([p1, p2]);
  assert.deepEqual(seen, [1, 2]);
});
