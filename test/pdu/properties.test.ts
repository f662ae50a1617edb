import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Opcode,
  PduFramer,
  decodePdu,
  encodeDataIn,
  encodeLoginRequest,
  encodePdu,
  encodeReadyToTransfer,
  encodeScsiCommand,
  encodeTextParameters,
  parseTextParameters,
  serializeFrame,
} from '../../src/pdu/index.js';
import type { DataIn, Frame, LoginRequest, Pdu, ReadyToTransfer, ScsiCommand, TaskAttribute } from '../../src/pdu/index.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const lun = bytes(8, 8);

const scsiCommand: fc.Arbitrary<ScsiCommand> = fc
  .record({
    immediate: fc.boolean(),
    final: fc.boolean(),
    read: fc.boolean(),
    write: fc.boolean(),
    attribute: fc.integer({ min: 0, max: 4 }),
    lun,
    itt: u32,
    expectedDataTransferLength: u32,
    cmdSn: u32,
    expStatSn: u32,
    cdb: fc.oneof(bytes(16, 16), bytes(17, 260)),
    bidi: fc.option(u32, { nil: undefined }),
    data: bytes(0, 300),
  })
  .map(({ bidi, attribute, ...r }) => {
    const p: ScsiCommand = { opcode: Opcode.ScsiCommand, attribute: attribute as TaskAttribute, ...r };
    if (bidi !== undefined) p.bidiReadLength = bidi;
    return p;
  });

const dataIn: fc.Arbitrary<DataIn> = fc.record({
  opcode: fc.constant(Opcode.DataIn as const),
  final: fc.boolean(),
  acknowledge: fc.boolean(),
  overflow: fc.boolean(),
  underflow: fc.boolean(),
  statusPresent: fc.boolean(),
  status: fc.integer({ min: 0, max: 255 }),
  lun,
  itt: u32,
  ttt: u32,
  statSn: u32,
  expCmdSn: u32,
  maxCmdSn: u32,
  dataSn: u32,
  bufferOffset: u32,
  residualCount: u32,
  data: bytes(0, 300),
});

const r2t: fc.Arbitrary<ReadyToTransfer> = fc.record({
  opcode: fc.constant(Opcode.ReadyToTransfer as const),
  lun,
  itt: u32,
  ttt: u32,
  statSn: u32,
  expCmdSn: u32,
  maxCmdSn: u32,
  r2tSn: u32,
  bufferOffset: u32,
  desiredLength: u32,
});

const loginRequest: fc.Arbitrary<LoginRequest> = fc.record({
  opcode: fc.constant(Opcode.LoginRequest as const),
  transit: fc.boolean(),
  continue: fc.boolean(),
  csg: fc.integer({ min: 0, max: 3 }),
  nsg: fc.integer({ min: 0, max: 3 }),
  versionMax: fc.integer({ min: 0, max: 255 }),
  versionMin: fc.integer({ min: 0, max: 255 }),
  isid: bytes(6, 6),
  tsih: u16,
  itt: u32,
  cid: u16,
  cmdSn: u32,
  expStatSn: u32,
  data: bytes(0, 300),
});

function roundTrip<T extends Pdu>(generated: T, encode: (p: T) => Frame): void {
  const p = { ...generated }; // fc.record builds null-prototype objects
  const r = decodePdu(encode(p));
  assert.ok(r.ok, r.ok ? '' : r.message);
  assert.deepEqual(r.pdu, p);
}

test('property: ScsiCommand encode→decode round trip (incl. extended CDB and bidi AHS)', () => {
  fc.assert(fc.property(scsiCommand, (p) => roundTrip(p, encodeScsiCommand)));
});

test('property: DataIn encode→decode round trip', () => {
  fc.assert(fc.property(dataIn, (p) => roundTrip(p, encodeDataIn)));
});

test('property: R2T encode→decode round trip', () => {
  fc.assert(fc.property(r2t, (p) => roundTrip(p, encodeReadyToTransfer)));
});

test('property: LoginRequest encode→decode round trip', () => {
  fc.assert(fc.property(loginRequest, (p) => roundTrip(p, encodeLoginRequest)));
});

test('property: decodePdu never throws on arbitrary BHS + AHS + data', () => {
  fc.assert(
    fc.property(bytes(48, 48), bytes(0, 64), bytes(0, 64), fc.boolean(), (bhs, ahs, data, consistent) => {
      if (consistent) {
        // Make the lengths agree so decoding gets past the structural checks.
        ahs = ahs.subarray(0, ahs.length & ~3);
        bhs[4] = ahs.length / 4;
        bhs[5] = 0;
        bhs[6] = 0;
        bhs[7] = data.length;
      }
      const r = decodePdu({ bhs, ahs, data });
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) assert.equal(typeof r.message, 'string');
    }),
    { numRuns: 2000 },
  );
});

test('property: parseTextParameters never throws, and valid pairs round-trip', () => {
  fc.assert(
    fc.property(bytes(0, 200), (data) => {
      const r = parseTextParameters(data);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: 2000 },
  );
  const key = fc.stringMatching(/^[A-Za-z0-9.\-+@_]{1,63}$/);
  const value = fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0'));
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 10 }), (pairs) => {
      assert.deepEqual(parseTextParameters(encodeTextParameters(pairs)), { ok: true, pairs });
    }),
  );
});

const limitsArb = fc.record({
  maxDataSegmentLength: fc.integer({ min: 0, max: 1024 }),
  headerDigest: fc.boolean(),
  dataDigest: fc.boolean(),
  maxAhsLength: fc.option(fc.integer({ min: 0, max: 1020 }), { nil: undefined }),
});

test('property: PduFramer never throws on arbitrary chunk sequences and random limits', () => {
  fc.assert(
    fc.property(limitsArb, fc.array(bytes(0, 200), { maxLength: 20 }), (limits, chunks) => {
      let errors = 0;
      const framer = new PduFramer(
        limits,
        (f) => {
          assert.equal(f.bhs.length, 48);
          assert.equal(f.ahs.length, f.bhs[4] * 4);
          assert.equal(f.data.length, (f.bhs[5] << 16) | (f.bhs[6] << 8) | f.bhs[7]);
          assert.ok(f.data.length <= limits.maxDataSegmentLength);
        },
        () => errors++,
      );
      for (const c of chunks) framer.push(c);
      assert.ok(errors <= 1);
    }),
    { numRuns: 1000 },
  );
});

test('property: a stream of valid PDUs split at random points frames back exactly', () => {
  const pdu = fc.oneof(scsiCommand, dataIn, r2t, loginRequest) as fc.Arbitrary<Pdu>;
  fc.assert(
    fc.property(
      fc.array(pdu, { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 10 }),
      (pdus, header, data, sizes) => {
        const frames = pdus.map(encodePdu);
        const wire = Buffer.concat(frames.flatMap((f) => serializeFrame(f, { header, data })));
        const got: Frame[] = [];
        const framer = new PduFramer(
          { maxDataSegmentLength: 1024, headerDigest: header, dataDigest: data },
          (f) => {
            assert.equal(f.dataDigestError, false);
            got.push(f);
          },
          (e) => assert.fail(e.reason),
        );
        let pos = 0;
        for (let i = 0; pos < wire.length; i++) {
          const n = sizes[i % sizes.length];
          framer.push(wire.subarray(pos, pos + n));
          pos += n;
        }
        assert.equal(got.length, frames.length);
        got.forEach((f, i) => {
          assert.deepEqual(f.bhs, frames[i].bhs);
          assert.deepEqual(f.ahs, frames[i].ahs);
          assert.deepEqual(f.data, frames[i].data);
        });
      },
    ),
    { numRuns: 300 },
  );
});
