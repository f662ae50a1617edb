// Thin provisioning as the pages advertise it: READ CAPACITY (16) LBPME/LBPRZ,
// VPD B0h unmap limits, VPD B2h, and the config attributes they come from.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogicalUnit } from '../../src/scsi/logical-unit.js';
import { openNexus } from '../../src/scsi/nexus.js';
import type { ProvisioningOptions } from '../../src/scsi/api.js';
import type { BlockDevice } from '../../src/backstore/types.js';
import { openRamdisk } from '../../src/backstore/ramdisk.js';
import { vpdLogicalBlockProvisioning } from '../../src/scsi/sbc/vpd-block-device.js';
import { DEFAULT_MAX_UNMAP_DESCRIPTORS, DEFAULT_MAX_UNMAP_LBA_COUNT, provisioningState } from '../../src/scsi/sbc/provisioning.js';
import { storageProvisioning } from '../../src/config/resolve.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { validateConfig } from '../../src/config/validate.js';
import { clearUnitAttentions, makeNexus, makeView, run, WWN } from './harness.js';
import { memoryDevice } from './memory-device.js';

const ALL: ProvisioningOptions = { unmap: true, writeSameUnmap: true };

async function lu(device: BlockDevice, provisioning?: ProvisioningOptions) {
  const unit = createLogicalUnit({ device, name: 'thin0', wwn: WWN, vendor: 'TSGT', product: 'thin', revision: '1', provisioning });
  const view = makeView([{ lun: 0, unit, writeProtect: false }]);
  const n = openNexus(makeNexus('a'), view, { units: () => [unit] });
  await clearUnitAttentions(n);
  return { unit, n };
}

const ramdisk = () => openRamdisk({ size: 1 << 20, blockSize: 512, chunkSize: 4096 });
const rc16 = (n: Parameters<typeof run>[0]) => run(n, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0], { edtl: 32 });
const b0 = async (n: Parameters<typeof run>[0]) => (await run(n, [0x12, 0x01, 0xb0, 0, 64, 0], { edtl: 64 })).data!;

test('READ CAPACITY (16): LBPME=1 and LBPRZ=1 on a thin LU over a device that reads holes as zeros', async () => {
  const { n } = await lu(await ramdisk(), ALL);
  const d = (await rc16(n)).data!;
  assert.equal(d[14] & 0x80, 0x80, 'LBPME');
  assert.equal(d[14] & 0x40, 0x40, 'LBPRZ');
  assert.equal(d[13] & 0x0f, 0, 'one logical block per physical block');
});

test('fully provisioned stays fully provisioned: no options, options off, or a device that cannot deallocate', async () => {
  for (const [device, options] of [
    [await ramdisk(), undefined],
    [await ramdisk(), { unmap: false, writeSameUnmap: false }],
    [memoryDevice(), ALL],
  ] as const) {
    const { unit, n } = await lu(device, options);
    const d = (await rc16(n)).data!;
    assert.equal(d[14] & 0xc0, 0, 'LBPME=0, LBPRZ=0');
    const limits = await b0(n);
    assert.equal(limits.subarray(20, 36).equals(Buffer.alloc(16)), true, 'no unmap fields in B0h');
    assert.deepEqual([...vpdLogicalBlockProvisioning(unit)], [0, 0xb2, 0, 4, 0, 0, 0, 0]);
  }
});

test('VPD B0h on a thin LU: MAXIMUM UNMAP LBA/DESCRIPTOR COUNT, OPTIMAL UNMAP GRANULARITY from the device, UGAVALID', async () => {
  const { n } = await lu(await ramdisk(), ALL);
  const d = await b0(n);
  assert.equal(d.readUInt32BE(20), DEFAULT_MAX_UNMAP_LBA_COUNT);
  assert.ok(DEFAULT_MAX_UNMAP_LBA_COUNT <= 1024 * 1024, 'libiscsi Inquiry.BlockLimits: an explicit limit is at most 1M');
  assert.equal(d.readUInt32BE(24), DEFAULT_MAX_UNMAP_DESCRIPTORS);
  assert.equal(d.readUInt32BE(28), 8, 'ramdisk chunk of 4 KiB = 8 blocks');
  assert.equal(d.readUInt32BE(32), 0x80000000, 'UGAVALID, alignment 0');
  assert.equal(d.readBigUInt64BE(36), 0xffffn, 'MAXIMUM WRITE SAME LENGTH: LIO default with 512-byte blocks');
});

test('VPD B0h honours max_unmap_lba_count, max_unmap_block_desc_count, unmap_granularity(_alignment)', async () => {
  const { n } = await lu(await ramdisk(), { ...ALL, maxUnmapLbaCount: 8192, maxUnmapBlockDescriptorCount: 1, unmapGranularity: 16, unmapGranularityAlignment: 3 });
  const d = await b0(n);
  assert.deepEqual([d.readUInt32BE(20), d.readUInt32BE(24), d.readUInt32BE(28), d.readUInt32BE(32)], [8192, 1, 16, 0x80000003]);
});

test('only emulate_tpws: thin (LBPME) with LBPWS/LBPWS10 but not LBPU, and B0h unmap counts 0 (UNMAP not supported)', async () => {
  const { unit, n } = await lu(await ramdisk(), { unmap: false, writeSameUnmap: true });
  assert.equal((await rc16(n)).data![14] & 0x80, 0x80);
  const page = vpdLogicalBlockProvisioning(unit);
  assert.equal(page[5] & 0xe0, 0x60);
  const d = await b0(n);
  assert.equal(d.readUInt32BE(20), 0);
  assert.equal(d.readUInt32BE(24), 0);
  assert.equal(d.readUInt32BE(28), 8);
});

test('VPD B2h on a thin LU: LBPU, LBPWS, LBPWS10, LBPRZ=001b, ANC_SUP=1, PROVISIONING TYPE thin', async () => {
  const { unit } = await lu(await ramdisk(), ALL);
  const p = vpdLogicalBlockProvisioning(unit);
  assert.deepEqual([...p.subarray(0, 4)], [0, 0xb2, 0, 4]);
  assert.equal(p[4], 0, 'THRESHOLD EXPONENT');
  assert.equal(p[5], 0x80 | 0x40 | 0x20 | 0x04 | 0x02);
  assert.equal(p[6] & 0x07, 0x02);
  // unmap_zeroes_data=0 withholds LBPRZ (and READ CAPACITY (16) follows).
  const { unit: u2, n: n2 } = await lu(await ramdisk(), { ...ALL, unmapZeroesData: false });
  assert.equal(vpdLogicalBlockProvisioning(u2)[5] & 0x1c, 0);
  assert.equal((await rc16(n2)).data![14] & 0xc0, 0x80);
});

test('a device whose deallocated blocks do not read as zeros (discard): thin without LBPRZ, even if unmap_zeroes_data=1', () => {
  const device = { ...memoryDevice(), unmap: async () => undefined, unmapZeroes: false } as BlockDevice;
  const s = provisioningState(device, { ...ALL, unmapZeroesData: true });
  assert.equal(s.thin, true);
  assert.equal(s.readsZeroes, false);
  assert.equal(provisioningState({ ...device, readOnly: true }, ALL).thin, false, 'a read-only device cannot deallocate');
});

test('config: storageProvisioning reads the rtslib attributes; 0 or absent limits fall back to defaults', () => {
  assert.deepEqual(storageProvisioning({}), { unmap: false, writeSameUnmap: false });
  assert.deepEqual(
    storageProvisioning({
      attributes: {
        emulate_tpu: 1,
        emulate_tpws: 0,
        max_unmap_lba_count: 8192,
        max_unmap_block_desc_count: 0,
        unmap_granularity: 8,
        unmap_granularity_alignment: 0,
        unmap_zeroes_data: 0,
      },
    }),
    { unmap: true, writeSameUnmap: false, maxUnmapLbaCount: 8192, unmapGranularity: 8, unmapZeroesData: false },
  );
  // rtslib writes strings for values configfs did not parse as integers.
  assert.deepEqual(storageProvisioning({ attributes: { emulate_tpws: '1', unmap_zeroes_data: 1 } }), { unmap: false, writeSameUnmap: true, unmapZeroesData: true });
});

test('config: the default fileio disk asks for thin provisioning and validates', () => {
  const c = defaultConfig('/var/lib/tsgt', 'host');
  assert.ok(validateConfig(c).ok);
  assert.deepEqual(storageProvisioning(c.storage_objects[0]), { unmap: true, writeSameUnmap: true });
  const bad = defaultConfig('/var/lib/tsgt', 'host');
  bad.storage_objects[0].attributes = { ...bad.storage_objects[0].attributes, emulate_tpu: 2 };
  const r = validateConfig(bad);
  assert.ok(!r.ok && r.errors.some((e) => /emulate_tpu/.test(e.path) && e.rule === 'attribute-value'));
});
