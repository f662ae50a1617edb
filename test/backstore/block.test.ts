import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBlock, resolveBlockGeometry, splitDevT } from '../../src/backstore/block.js';
import { BackstoreOpenError } from '../../src/backstore/errors.js';

/**
 * A fake /sys laid out like the kernel's: /sys/dev/block/MAJ:MIN are relative
 * symlinks into /sys/devices/..., partitions are subdirectories of their disk
 * and have no queue/ of their own.
 */
function fakeSysfs(): string {
  const root = mkdtempSync(join(tmpdir(), 'tsgt-sysfs-'));
  const disk = (rel: string, sectors: number, lbs?: number) => {
    const dir = join(root, rel);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'size'), `${sectors}\n`);
    if (lbs !== undefined) {
      mkdirSync(join(dir, 'queue'));
      writeFileSync(join(dir, 'queue', 'logical_block_size'), `${lbs}\n`);
    } else {
      writeFileSync(join(dir, 'partition'), '1\n');
    }
  };
  disk('devices/pci0000:00/0000:00:10.0/host0/target0:0:0/0:0:0:0/block/sda', 20971520, 512);
  disk('devices/pci0000:00/0000:00:10.0/host0/target0:0:0/0:0:0:0/block/sda/sda1', 2048000);
  disk('devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1', 7814037168, 4096);
  disk('devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1/nvme0n1p2', 1000000);
  mkdirSync(join(root, 'dev', 'block'), { recursive: true });
  const link = (majmin: string, rel: string) => symlinkSync(join('..', '..', rel), join(root, 'dev', 'block', majmin));
  link('8:0', 'devices/pci0000:00/0000:00:10.0/host0/target0:0:0/0:0:0:0/block/sda');
  link('8:1', 'devices/pci0000:00/0000:00:10.0/host0/target0:0:0/0:0:0:0/block/sda/sda1');
  link('259:0', 'devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1');
  link('259:2', 'devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1/nvme0n1p2');
  return root;
}

test('dev_t decoding matches glibc major()/minor()', () => {
  assert.deepEqual(splitDevT(0x0801n), { major: 8, minor: 1 });
  assert.deepEqual(splitDevT(0x10302n), { major: 259, minor: 2 });
  // minor 256 on major 8 (sdq): high minor bits live at bit 20
  assert.deepEqual(splitDevT((1n << 20n) | (8n << 8n)), { major: 8, minor: 256 });
  // majors above 4095 keep their high bits from bit 44, minors above 0xfffff from bit 32
  assert.deepEqual(splitDevT((1n << 44n) | (5n << 8n) | 3n), { major: 4096 + 5, minor: 3 });
  assert.deepEqual(splitDevT((1n << 32n) | (5n << 8n) | 3n), { major: 5, minor: (1 << 20) | 3 });
  // a real device number: /dev/null is 1:3
  assert.deepEqual(splitDevT(statSync('/dev/null', { bigint: true }).rdev), { major: 1, minor: 3 });
});

test('geometry of a real block device, when this machine has one', async (t) => {
  let entries: string[] = [];
  try {
    entries = readdirSync('/sys/dev/block');
  } catch {
    // no sysfs here
  }
  if (entries.length === 0) return t.skip('no /sys/dev/block on this machine');
  const [major, minor] = entries[0].split(':').map(Number);
  const g = await resolveBlockGeometry(major, minor);
  const sectors = Number(readFileSync(`/sys/dev/block/${entries[0]}/size`, 'utf8'));
  assert.equal(g.sizeBytes, sectors * 512);
  assert.ok([512, 1024, 2048, 4096].includes(g.logicalBlockSize), String(g.logicalBlockSize));
});

test('geometry from sysfs: whole disks and partitions, 512 and 4096-byte sectors', async () => {
  const root = fakeSysfs();
  try {
    const nodiscard = { discard: false, discardGranularity: 0 };
    assert.deepEqual(await resolveBlockGeometry(8, 0, root), { sizeBytes: 20971520 * 512, logicalBlockSize: 512, ...nodiscard });
    assert.deepEqual(await resolveBlockGeometry(8, 1, root), { sizeBytes: 2048000 * 512, logicalBlockSize: 512, ...nodiscard });
    // sysfs size is in 512-byte units even on a 4Kn device
    assert.deepEqual(await resolveBlockGeometry(259, 0, root), { sizeBytes: 7814037168 * 512, logicalBlockSize: 4096, ...nodiscard });
    assert.deepEqual(await resolveBlockGeometry(259, 2, root), { sizeBytes: 1000000 * 512, logicalBlockSize: 4096, ...nodiscard });
    await assert.rejects(resolveBlockGeometry(9, 9, root), /ENOENT/);
    writeFileSync(join(root, 'devices/pci0000:00/0000:00:10.0/host0/target0:0:0/0:0:0:0/block/sda/size'), 'garbage\n');
    await assert.rejects(resolveBlockGeometry(8, 0, root), /not a number/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a regular file or a missing path is refused with a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-block-'));
  try {
    const file = join(dir, 'f.img');
    writeFileSync(file, Buffer.alloc(4096));
    await assert.rejects(openBlock({ dev: file, name: 'b0' }), (e: unknown) => {
      assert.ok(e instanceof BackstoreOpenError);
      assert.match(e.message, /block b0 .*not a block device; use the fileio backstore/);
      return true;
    });
    await assert.rejects(openBlock({ dev: dir }), /is not a block device/);
    await assert.rejects(openBlock({ dev: join(dir, 'none') }), /does not exist/);
    // a character device is not a block device either
    await assert.rejects(openBlock({ dev: '/dev/null' }), /is not a block device/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the I/O path on a regular file with injected geometry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsgt-block-'));
  try {
    const file = join(dir, 'f.img');
    writeFileSync(file, Buffer.alloc(1 << 20));
    const dev = await openBlock({ dev: file, write_back: false }, { geometry: { sizeBytes: 1 << 20, logicalBlockSize: 4096 } });
    try {
      assert.equal(dev.blockSize, 4096);
      assert.equal(dev.blockCount, 256);
      assert.equal(dev.writeCache, false);
      await dev.write(3, [Buffer.alloc(4096, 0x5a)]);
      assert.ok((await dev.read(3, 1)).equals(Buffer.alloc(4096, 0x5a)));
      assert.ok(readFileSync(file).subarray(3 * 4096, 4 * 4096).equals(Buffer.alloc(4096, 0x5a)));
      await dev.flush();
    } finally {
      await dev.close();
    }
    const ro = await openBlock({ dev: file, readOnly: true, blockSize: 512 }, { geometry: { sizeBytes: 1 << 20, logicalBlockSize: 512 } });
    assert.equal(ro.readOnly, true);
    assert.equal(ro.blockCount, 2048);
    await assert.rejects(ro.write(0, [Buffer.alloc(512)]), /read-only/);
    await ro.close();
    await assert.rejects(
      openBlock({ dev: file, blockSize: 512 }, { geometry: { sizeBytes: 1 << 20, logicalBlockSize: 4096 } }),
      /smaller than the device's logical block size/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real, empty block device (unattached loop) is found through sysfs and refused for its size', async (t) => {
  let loop: string | undefined;
  for (let i = 0; i < 8 && !loop; i++) {
    try {
      if (statSync(`/dev/loop${i}`).isBlockDevice() && readFileSync(`/sys/class/block/loop${i}/size`, 'utf8').trim() === '0') loop = `/dev/loop${i}`;
    } catch {
      // not present
    }
  }
  if (!loop) return t.skip('no unattached loop device here');
  // Fails on the size read from sysfs, before the device is opened.
  await assert.rejects(openBlock({ dev: loop, name: 'l' }), /block l .*is 0 bytes, smaller than one 512-byte block/);
});
