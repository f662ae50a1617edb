import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ABORTED, ScsiStatus, type ScsiCommandRequest } from '../../src/scsi/api.js';
import { parseSense } from '../../src/scsi/sense.js';
import { fixture } from './harness.js';

const STATUSES = new Set<number>(Object.values(ScsiStatus).filter((v): v is number => typeof v === 'number'));

test('any CDB through the dispatcher yields a valid ScsiResult and never throws', async () => {
  const f = fixture({ blockCount: 64 });
  const n = f.open('fuzz');
  const b = f.open('other');
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 0, maxLength: 32 }),
      fc.constantFrom(0, 1, 2),
      fc.integer({ min: 0, max: 70000 }),
      fc.constantFrom<ScsiCommandRequest['direction']>('none', 'read', 'write', 'bidi'),
      fc.constantFrom<ScsiCommandRequest['attribute']>('simple', 'ordered', 'head-of-queue', 'untagged'),
      async (cdbBytes, lunIndex, edtl, direction, attribute) => {
        const lun = Buffer.alloc(8);
        if (lunIndex === 1) lun[1] = 7;
        if (lunIndex === 2) lun[0] = 0xc0;
        const req: ScsiCommandRequest = {
          lun,
          cdb: Buffer.from(cdbBytes),
          tag: 1,
          attribute,
          expectedDataLength: edtl,
          direction,
          receiveData: async (length: number) => {
            assert.ok(length <= edtl, 'never asks for more than EDTL');
            return [Buffer.alloc(length)];
          },
        };
        const out = await n.execute(req).outcome;
        assert.notEqual(out, ABORTED);
        if (out === ABORTED) return;
        assert.ok(STATUSES.has(out.status));
        if (out.transferLength !== undefined) assert.ok(Number.isSafeInteger(out.transferLength) && out.transferLength >= 0);
        if (out.data !== undefined) assert.ok(Buffer.isBuffer(out.data));
        if (out.status === ScsiStatus.CheckCondition) {
          assert.ok(out.sense !== undefined && parseSense(out.sense) !== undefined);
        }
        // Keep the other nexus from accumulating a reservation conflict forever.
        await b.execute({ ...req, cdb: Buffer.from([0x17, 0, 0, 0, 0, 0]), lun: Buffer.alloc(8) }).outcome;
        await n.execute({ ...req, cdb: Buffer.from([0x17, 0, 0, 0, 0, 0]), lun: Buffer.alloc(8) }).outcome;
      },
    ),
    { numRuns: 3000 },
  );
});

test('fuzzing known opcodes with random fields yields valid results', async () => {
  const f = fixture({ blockCount: 64 });
  const n = f.open('fuzz2');
  const opcodes = [0x00, 0x03, 0x08, 0x0a, 0x12, 0x15, 0x16, 0x17, 0x1a, 0x1b, 0x1e, 0x25, 0x28, 0x2a, 0x2e, 0x2f, 0x35, 0x55, 0x56, 0x57, 0x5a, 0x88, 0x8a, 0x8e, 0x8f, 0x91, 0x9e, 0xa0, 0xa3, 0xa8, 0xaa, 0xae, 0xaf];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...opcodes), fc.uint8Array({ minLength: 15, maxLength: 15 }), fc.integer({ min: 0, max: 9000 }), async (op, rest, edtl) => {
      const cdb = Buffer.concat([Buffer.from([op]), Buffer.from(rest)]);
      const out = await n.execute({
        lun: Buffer.alloc(8),
        cdb,
        tag: 2,
        attribute: 'simple',
        expectedDataLength: edtl,
        direction: 'write',
        receiveData: async (length: number) => [Buffer.alloc(length)],
      }).outcome;
      assert.notEqual(out, ABORTED);
      if (out === ABORTED) return;
      assert.ok(STATUSES.has(out.status));
      if (out.status === ScsiStatus.CheckCondition) assert.ok(parseSense(out.sense!) !== undefined);
      await n.execute({ lun: Buffer.alloc(8), cdb: Buffer.from([0x17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), tag: 3, attribute: 'simple', expectedDataLength: 0, direction: 'none', receiveData: async () => [] }).outcome;
    }),
    { numRuns: 3000 },
  );
});
