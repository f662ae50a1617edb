import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DIRECT_READ_MIN, PduFramer, encodeDataOut, encodeNopOut, serializeFrame } from '../../src/pdu/index.js';
import type { Frame, FramerLimits, ReceivedFrame } from '../../src/pdu/index.js';

const LUN = Buffer.alloc(8);

function dataOut(length: number, seed: number): Frame {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i * 31 + seed) & 0xff;
  return encodeDataOut({ final: true, lun: LUN, itt: seed, ttt: 7, expStatSn: 1, dataSn: 0, bufferOffset: 0, data } as never);
}

function nop(length: number, seed: number): Frame {
  return encodeNopOut({ immediate: true, lun: LUN, itt: seed, ttt: 0xffffffff, cmdSn: 1, expStatSn: 1, data: Buffer.alloc(length, seed & 0xff) } as never);
}

/**
 * Feed `wire` the way SocketReader does: before every read ask for a direct
 * target; if there is one, "read" up to its length into it, else copy up to
 * `readSize` bytes into a fresh chunk and push that.
 */
function feed(framer: PduFramer, wire: Buffer, readSizes: readonly number[]): { direct: number } {
  let pos = 0;
  let i = 0;
  let direct = 0;
  while (pos < wire.length) {
    const size = readSizes[i++ % readSizes.length];
    const target = framer.directTarget();
    if (target) {
      const n = Math.min(size, target.length, wire.length - pos);
      wire.copy(target, 0, pos, pos + n);
      pos += n;
      direct += n;
      framer.pushDirect(n);
    } else {
      const n = Math.min(size, wire.length - pos);
      framer.push(Buffer.from(wire.subarray(pos, pos + n)));
      pos += n;
    }
  }
  return { direct };
}

for (const digests of [false, true]) {
  const limits: FramerLimits = { maxDataSegmentLength: 1 << 20, headerDigest: digests, dataDigest: digests };
  const tag = digests ? 'with digests' : 'without digests';

  test(`framer direct reads ${tag}: any mix of PDUs and read sizes yields the same frames as plain pushes`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ big: fc.boolean(), length: fc.integer({ min: 0, max: 200_000 }), seed: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 }),
        (specs, readSizes) => {
          const frames = specs.map((s) => (s.big ? dataOut(s.length, s.seed) : nop(s.length % 9000, s.seed)));
          const wire = Buffer.concat(frames.flatMap((f) => serializeFrame(f, { header: digests, data: digests })));
          const got: ReceivedFrame[] = [];
          const allocated: number[] = [];
          const framer = new PduFramer(limits, (f) => got.push(f), (e) => assert.fail(e.reason), (n) => {
            allocated.push(n);
            return Buffer.allocUnsafe(n);
          });
          const { direct } = feed(framer, wire, readSizes);
          assert.equal(got.length, frames.length);
          got.forEach((g, i) => {
            assert.deepEqual(g.bhs, frames[i].bhs);
            assert.deepEqual(g.data, frames[i].data);
            assert.equal(g.dataDigestError, false);
          });
          assert.ok(framer.atBoundary);
          // Every direct byte went into a buffer from the allocator, never more than the segment.
          for (const n of allocated) assert.ok(n <= 200_000);
          if (direct > 0) assert.ok(allocated.length > 0);
        },
      ),
      { numRuns: 60 },
    );
  });
}

test('framer direct reads: a large segment is read in place after its header, small ones never are', () => {
  const limits: FramerLimits = { maxDataSegmentLength: 1 << 20, headerDigest: false, dataDigest: false };
  const got: ReceivedFrame[] = [];
  const framer = new PduFramer(limits, (f) => got.push(f), (e) => assert.fail(e.reason));
  assert.equal(framer.directTarget(), undefined, 'no direct target before a header');
  const big = serializeFrame(dataOut(256 * 1024, 3), { header: false, data: false });
  framer.push(Buffer.concat([big[0], big[1].subarray(0, 1000)]));
  const target = framer.directTarget();
  assert.ok(target);
  assert.equal(target.length, 256 * 1024 - 1000);
  big[1].copy(target, 0, 1000);
  framer.pushDirect(target.length);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].data, big[1]);
  // The delivered segment is the very buffer that was read into.
  assert.equal(got[0].data.buffer, target.buffer);

  const small = serializeFrame(dataOut(DIRECT_READ_MIN - 1, 4), { header: false, data: false });
  framer.push(small[0]);
  assert.equal(framer.directTarget(), undefined, 'a segment under DIRECT_READ_MIN is not offered');
  for (const b of small.slice(1)) framer.push(b);
  assert.equal(got.length, 2);
});

test('framer direct reads: pushDirect without a direct target is an owner bug and throws', () => {
  const framer = new PduFramer({ maxDataSegmentLength: 1 << 20, headerDigest: false, dataDigest: false }, () => {}, () => {});
  assert.throws(() => framer.pushDirect(10), /without a matching directTarget/);
});
