// READ CAPACITY (16) and VPD B0h with several logical blocks per physical
// block (storage attribute physical_block_size): LOGICAL BLOCKS PER PHYSICAL
// BLOCK EXPONENT, LOWEST ALIGNED LBA 0, OPTIMAL TRANSFER LENGTH GRANULARITY.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus } from '../../src/scsi/nexus.js';
import type { BlockDevice } from '../../src/backstore/types.js';
import { clearUnitAttentions, makeNexus, makeView, run, WWN } from './harness.js';
import { memoryDevice } from './memory-device.js';

async function nexusFor(device: BlockDevice, physicalBlockSize?: number) {
  const unit = createLogicalUnit({ device, name: 'pb0', wwn: WWN, vendor: 'TSGT', product: 'pb', revision: '1', physicalBlockSize });
  const n = openNexus(makeNexus('a'), makeView([{ lun: 0, unit, writeProtect: false }]), { units: () => [unit] });
  await clearUnitAttentions(n);
  return n;
}

const RC16 = [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0]; // ALLOCATION LENGTH 32 (bytes 10-13)
const B0 = [0x12, 0x01, 0xb0, 0, 64, 0];

/** The 32 bytes of READ CAPACITY (16) parameter data a fully provisioned LU of `blocks` blocks reports. */
function expectedRc16(blocks: number, blockSize: number, exponent: number): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigUInt64BE(BigInt(blocks - 1), 0);
  b.writeUInt32BE(blockSize, 8);
  b[13] = exponent; // P_I_EXPONENT 0, LBPPBE
  // bytes 14-15: LBPME 0, LBPRZ 0, LOWEST ALIGNED LOGICAL BLOCK ADDRESS 0
  return b;
}

test('READ CAPACITY (16): 512-byte logical blocks in 4096-byte physical blocks report LBPPBE 3, lowest aligned LBA 0', async () => {
  const n = await nexusFor(memoryDevice({ blockSize: 512, blockCount: 2048 }), 4096);
  const r = await run(n, RC16, { edtl: 32 });
  assert.equal(r.status, 0);
  assert.deepEqual([...r.data!], [...expectedRc16(2048, 512, 3)]);
});

test('READ CAPACITY (16): 4096/4096 and an absent physical_block_size both report LBPPBE 0', async () => {
  for (const [blockSize, physical] of [[4096, 4096], [4096, undefined], [512, undefined], [512, 512]] as const) {
    const n = await nexusFor(memoryDevice({ blockSize, blockCount: 256 }), physical);
    const r = await run(n, RC16, { edtl: 32 });
    assert.deepEqual([...r.data!], [...expectedRc16(256, blockSize, 0)], `${blockSize}/${physical}`);
  }
});

test('READ CAPACITY (16): every exponent 0..15 over 512-byte blocks', async () => {
  for (let e = 0; e <= 15; e++) {
    const n = await nexusFor(memoryDevice({ blockSize: 512, blockCount: 64 }), 512 * 2 ** e);
    const r = await run(n, RC16, { edtl: 32 });
    assert.equal(r.data![13], e, `physical ${512 * 2 ** e}`);
    assert.equal(r.data!.readUInt16BE(14) & 0x3fff, 0, 'LOWEST ALIGNED LOGICAL BLOCK ADDRESS');
  }
});

test('READ CAPACITY (10) does not change with the physical block size', async () => {
  const n = await nexusFor(memoryDevice({ blockSize: 512, blockCount: 2048 }), 4096);
  const r = await run(n, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { edtl: 8 });
  assert.deepEqual([...r.data!], [0, 0, 0x07, 0xff, 0, 0, 0x02, 0x00]);
});

test('VPD B0h OPTIMAL TRANSFER LENGTH GRANULARITY is the number of logical blocks per physical block', async () => {
  for (const [blockSize, physical, granularity] of [[512, 4096, 8], [512, undefined, 1], [4096, 4096, 1], [512, 1024, 2], [4096, 65536, 16]] as const) {
    const n = await nexusFor(memoryDevice({ blockSize, blockCount: 256 }), physical);
    const d = (await run(n, B0, { edtl: 64 })).data!;
    assert.equal(d[1], 0xb0);
    assert.equal(d.readUInt16BE(6), granularity, `${blockSize}/${physical}`);
    // OPTIMAL TRANSFER LENGTH stays a whole number of physical blocks.
    assert.equal(d.readUInt32BE(12) % granularity, 0);
  }
});

test('createLogicalUnit refuses a physical block size that is no power-of-two multiple of the block size', () => {
  for (const physical of [256, 3000, 1536, 512 * 2 ** 16, 0]) {
    assert.throws(
      () => createLogicalUnit({ device: memoryDevice({ blockSize: 512 }), name: 'x', wwn: WWN, vendor: 'V', product: 'P', revision: '1', physicalBlockSize: physical }),
      RangeError,
      String(physical),
    );
  }
});
