import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  encodeCopyParameterList,
  parseCopyParameterList,
  type CopyList,
  type CopyListHeader,
  type CscdSpec,
  type SegmentSpec,
} from '../../src/scsi/xcopy/parameter-list.js';
import { COPY_LIMITS } from '../../src/scsi/xcopy/limits.js';
import type { ParameterListFailure } from '../../src/scsi/xcopy/copy-sense.js';

const NAA = Buffer.from('6001405aabbccddeeff00112233445566', 'hex').subarray(0, 16);
const header: CopyListHeader = { listId: 1, str: false, listIdUsage: 'hold', priority: 0 };
const cscd: CscdSpec = { peripheralDeviceType: 0, designator: { codeSet: 1, association: 0, type: 3, value: NAA }, blockLength: 512 };
const segment: SegmentSpec = { destinationCount: false, source: 0, destination: 0, blocks: 8, sourceLba: 0, destinationLba: 100 };

function failed(r: CopyList | ParameterListFailure): ParameterListFailure {
  assert.ok('kind' in r, 'expected a parameter list failure');
  return r;
}

function ok(r: CopyList | ParameterListFailure): CopyList {
  assert.ok(!('kind' in r), `unexpected failure ${JSON.stringify(r)}`);
  return r;
}

const codes = (f: ParameterListFailure) => [f.code.key, f.code.asc, f.code.ascq];

test('a valid list parses into header, CSCDs and segments with their offsets', () => {
  const data = encodeCopyParameterList({ ...header, listId: 7, str: true, priority: 3 }, [cscd, { ...cscd, blockLength: 0 }], [segment, { ...segment, destinationCount: true, source: 1, destination: 0xffff }]);
  const l = ok(parseCopyParameterList(data));
  assert.deepEqual(l.header, { listId: 7, str: true, listIdUsage: 'hold', priority: 3 });
  assert.equal(l.cscds.length, 2);
  assert.deepEqual([l.cscds[0].offset, l.cscds[1].offset], [16, 48]);
  assert.ok(l.cscds[0].designator.value.equals(NAA));
  assert.deepEqual([l.cscds[0].blockLength, l.cscds[1].blockLength, l.cscds[0].designator.type], [512, 0, 3]);
  assert.deepEqual([l.segments[0].offset, l.segments[1].offset], [80, 108]);
  assert.deepEqual(
    { ...l.segments[1], offset: 0 },
    { offset: 0, destinationCount: true, source: 1, destination: 0xffff, blocks: 8, sourceLba: 0, destinationLba: 100 },
  );
});

test('LU ID TYPE, NUL and RELATIVE INITIATOR PORT IDENTIFIER are ignored (obsolete in SPC-4)', () => {
  const data = encodeCopyParameterList(header, [cscd], [segment]);
  data[17] |= 0x80 | 0x20; // LU ID TYPE 10b, NUL=1
  data.writeUInt16BE(0x1234, 18);
  const l = ok(parseCopyParameterList(data));
  assert.equal(l.cscds[0].peripheralDeviceType, 0);
});

test('LBAs beyond 2^53 parse as undefined instead of losing precision', () => {
  const data = encodeCopyParameterList(header, [cscd], [{ ...segment, sourceLba: undefined, destinationLba: 2 ** 53 - 1 }]);
  const l = ok(parseCopyParameterList(data));
  assert.equal(l.segments[0].sourceLba, undefined);
  assert.equal(l.segments[0].destinationLba, 2 ** 53 - 1);
});

test('error table: each malformed list and its ILLEGAL REQUEST sense', () => {
  const good = encodeCopyParameterList(header, [cscd], [segment]);
  const cases: { name: string; data: Buffer; sense: number[]; byte?: number; bit?: number }[] = [
    { name: 'shorter than the header', data: good.subarray(0, 15), sense: [5, 0x1a, 0x00] },
    { name: 'truncated CSCD (libiscsi ParamHdr)', data: good.subarray(0, 16 + 32 - 1), sense: [5, 0x1a, 0x00] },
    { name: 'truncated segment (libiscsi ParamHdr)', data: good.subarray(0, good.length - 1), sense: [5, 0x1a, 0x00] },
    (() => {
      const d = Buffer.from(good);
      d.writeUInt32BE(4, 12); // inline data we do not accept
      return { name: 'inline data', data: Buffer.concat([d, Buffer.alloc(4)]), sense: [5, 0x1a, 0x00] };
    })(),
    (() => {
      const d = Buffer.from(good);
      d[1] = 0x08; // LIST ID USAGE 01b
      return { name: 'reserved LIST ID USAGE', data: d, sense: [5, 0x26, 0x00], byte: 1, bit: 4 };
    })(),
    (() => {
      const d = Buffer.from(good);
      d[1] = 0x18; // 11b with a non-zero LIST IDENTIFIER
      return { name: 'no-list-id usage with a list id', data: d, sense: [5, 0x26, 0x00], byte: 0 };
    })(),
    (() => {
      const d = Buffer.from(good);
      d[16] = 0xe0; // FC N_Port_Name CSCD (libiscsi DescrType)
      return { name: 'unsupported CSCD type', data: d, sense: [5, 0x26, 0x07], byte: 16 };
    })(),
    (() => {
      const d = Buffer.from(good);
      d[48] = 0x03; // stream-to-stream segment
      return { name: 'unsupported segment type', data: d, sense: [5, 0x26, 0x09], byte: 48 };
    })(),
    (() => {
      const d = Buffer.from(good);
      d.writeUInt16BE(0x14, 50);
      return { name: 'wrong 02h descriptor length', data: d, sense: [5, 0x26, 0x00], byte: 50 };
    })(),
    (() => {
      const d = Buffer.from(good);
      d[23] = 17;
      return { name: 'designator longer than its field', data: d, sense: [5, 0x26, 0x00], byte: 23 };
    })(),
  ];
  for (const c of cases) {
    const f = failed(parseCopyParameterList(c.data));
    assert.deepEqual(codes(f), c.sense, c.name);
    if (c.byte !== undefined) assert.deepEqual(f.field, { byte: c.byte, bit: c.bit }, c.name);
  }
});

test('descriptor limits (libiscsi DescrLimits): counts, then total list length first', () => {
  const { maxCscdDescriptors: n, maxSegmentDescriptors: m, maxDescriptorListLength: max } = COPY_LIMITS;
  const tooManyCscds = encodeCopyParameterList(header, Array(n + 1).fill(cscd), [segment]);
  assert.deepEqual(codes(failed(parseCopyParameterList(tooManyCscds))), [5, 0x26, 0x06]);
  const tooManySegments = encodeCopyParameterList(header, [cscd], Array(m + 1).fill(segment));
  assert.deepEqual(codes(failed(parseCopyParameterList(tooManySegments))), [5, 0x26, 0x08]);
  // Too many of both *and* longer than MAXIMUM DESCRIPTOR LIST LENGTH: the length error wins.
  const segs = Math.floor((max + 28 - (n + 1) * 32) / 28);
  const tooLong = encodeCopyParameterList(header, Array(n + 1).fill(cscd), Array(segs).fill(segment));
  assert.ok(tooLong.length - 16 > max);
  assert.deepEqual(codes(failed(parseCopyParameterList(tooLong))), [5, 0x1a, 0x00]);
  // Exactly at the limits is fine.
  ok(parseCopyParameterList(encodeCopyParameterList(header, Array(n).fill(cscd), Array(m).fill(segment))));
});

test('LIST ID USAGE values map to hold / discard / none', () => {
  for (const [bits, usage, id] of [[0x00, 'hold', 9], [0x10, 'discard', 9], [0x18, 'none', 0]] as const) {
    const d = encodeCopyParameterList({ ...header, listId: id }, [cscd], [segment]);
    d[1] = bits;
    assert.equal(ok(parseCopyParameterList(d)).header.listIdUsage, usage);
  }
});

test('an empty descriptor list is valid (nothing to copy)', () => {
  const l = ok(parseCopyParameterList(encodeCopyParameterList(header, [], [])));
  assert.deepEqual([l.cscds.length, l.segments.length], [0, 0]);
});

test('property: arbitrary bytes never throw; encode/parse round-trips', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const r = parseCopyParameterList(Buffer.from(bytes));
      assert.ok('kind' in r || Array.isArray(r.segments));
    }),
    { numRuns: 500 },
  );
  const arbCscd = fc.record({
    peripheralDeviceType: fc.integer({ min: 0, max: 31 }),
    designator: fc.record({
      codeSet: fc.integer({ min: 0, max: 15 }),
      association: fc.integer({ min: 0, max: 3 }),
      type: fc.integer({ min: 0, max: 15 }),
      value: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
    }),
    blockLength: fc.integer({ min: 0, max: 0xffffff }),
  });
  const lba = fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { nil: undefined });
  const arbSegment = fc.record({
    destinationCount: fc.boolean(),
    source: fc.integer({ min: 0, max: 0xffff }),
    destination: fc.integer({ min: 0, max: 0xffff }),
    blocks: fc.integer({ min: 0, max: 0xffff }),
    sourceLba: lba,
    destinationLba: lba,
  });
  fc.assert(
    fc.property(fc.array(arbCscd, { maxLength: 8 }), fc.array(arbSegment, { maxLength: 8 }), fc.integer({ min: 0, max: 255 }), (cs, ss, id) => {
      const l = ok(parseCopyParameterList(encodeCopyParameterList({ ...header, listId: id }, cs, ss)));
      assert.equal(l.header.listId, id);
      assert.deepEqual(
        l.cscds.map(({ offset: _o, ...rest }) => rest),
        cs.map((c) => ({ ...c, designator: { ...c.designator } })),
      );
      assert.deepEqual(
        l.segments.map(({ offset: _o, ...rest }) => rest),
        ss.map((x) => ({ ...x })), // fast-check records have a null prototype
      );
    }),
    { numRuns: 200 },
  );
});
