// block backstore (LIO target_core_iblock): an existing block device.
//
// Node has no BLKGETSIZE64/BLKSSZGET ioctls, so the geometry comes from
// sysfs: stat(dev).rdev gives major:minor, /sys/dev/block/MAJ:MIN links to
// the device's sysfs directory, whose `size` is always in 512-byte sectors
// (whatever the logical block size) and whose queue/logical_block_size is
// the sector size. Partitions have no queue/ directory: their parent disk's
// is used. With the native addon, BLKGETSIZE64 on the open descriptor gives
// the size directly (sysfs stays the source of the logical block size), and
// deallocation is BLKDISCARD when queue/discard_max_bytes says the device
// discards; writeZeroes is BLKZEROOUT (the kernel writes zeros itself where
// the device has no write-zeroes command). Discarded blocks read back
// whatever the device returns, so such a device does not claim LBPRZ.

import * as fs from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BlockDevice } from './types.js';
import { BackstoreOpenError, errnoCode } from './errors.js';
import { type FdOps, closeFd, fdBlockDevice, openFd } from './fdio.js';
import type { FdProvisioningOptions } from './fd-provisioning.js';
import { loadNativeBlockIo, type NativeBlockIo } from '../native/blockio.js';

export interface BlockGeometry {
  sizeBytes: number;
  logicalBlockSize: number;
  /** queue/discard_max_bytes > 0: the device accepts discards (BLKDISCARD). */
  discard?: boolean;
  /** queue/discard_granularity in bytes (0: unknown). */
  discardGranularity?: number;
}

export interface BlockOptions {
  dev: string;
  readOnly?: boolean;
  write_back?: boolean;
  /** rtslib exclusive (default true): O_EXCL, so a mounted device is refused (EBUSY). */
  exclusive?: boolean;
  /** Logical block size to present (attribute block_size); default the device's own. */
  blockSize?: number;
  name?: string;
}

export interface BlockEnvironment {
  /** Root of sysfs (default "/sys"); tests point it at a fake tree. */
  sysfsRoot?: string;
  /**
   * Known geometry: skips sysfs and the block-device check, so the I/O path
   * can be exercised on a regular file. Tests only.
   */
  geometry?: BlockGeometry;
  ops?: FdOps;
  /** Provisioning calls: default the native addon when it loads; null: none. */
  native?: NativeBlockIo | null;
}

/** Linux dev_t → major/minor (glibc gnu_dev_major/gnu_dev_minor encoding). */
export function splitDevT(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev & 0xfff00n) >> 8n) | ((rdev & 0xfffff00000000000n) >> 32n);
  const minor = (rdev & 0xffn) | ((rdev & 0xffffff00000n) >> 12n);
  return { major: Number(major), minor: Number(minor) };
}

async function readNumber(path: string): Promise<number> {
  const text = (await readFile(path, 'utf8')).trim();
  if (!/^\d+$/.test(text)) throw new Error(`${path} holds '${text}', not a number`);
  return Number(text);
}

/** Size and logical block size of block device major:minor from sysfs. */
export async function resolveBlockGeometry(major: number, minor: number, sysfsRoot = '/sys'): Promise<BlockGeometry> {
  const dir = await realpath(join(sysfsRoot, 'dev', 'block', `${major}:${minor}`));
  const sectors = await readNumber(join(dir, 'size'));
  let queue = join(dir, 'queue');
  let logicalBlockSize: number;
  try {
    logicalBlockSize = await readNumber(join(queue, 'logical_block_size'));
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
    // A partition: the queue belongs to the whole disk, its parent directory.
    queue = join(dirname(dir), 'queue');
    logicalBlockSize = await readNumber(join(queue, 'logical_block_size'));
  }
  const optional = (name: string) => readNumber(join(queue, name)).catch(() => 0);
  const discardMax = await optional('discard_max_bytes');
  const discardGranularity = await optional('discard_granularity');
  return { sizeBytes: sectors * 512, logicalBlockSize, discard: discardMax > 0, discardGranularity };
}

export async function openBlock(cfg: BlockOptions, env: BlockEnvironment = {}): Promise<BlockDevice> {
  const what = cfg.name ? `block ${cfg.name} (${cfg.dev})` : `block ${cfg.dev}`;
  const fail = (message: string, cause?: unknown): never => {
    throw new BackstoreOpenError(`${what}: ${message}`, { storageObject: cfg.name, cause });
  };
  let st: fs.BigIntStats;
  try {
    st = await stat(cfg.dev, { bigint: true });
  } catch (e) {
    return fail(errnoCode(e) === 'ENOENT' ? 'does not exist' : `cannot stat: ${errnoCode(e) ?? String(e)}`, e);
  }
  let geometry = env.geometry;
  if (!geometry) {
    if (!st.isBlockDevice()) {
      fail(st.isFile() ? 'is a regular file, not a block device; use the fileio backstore' : 'is not a block device');
    }
    const { major, minor } = splitDevT(st.rdev);
    try {
      geometry = await resolveBlockGeometry(major, minor, env.sysfsRoot);
    } catch (e) {
      return fail(`cannot read its size from sysfs (${major}:${minor}): ${e instanceof Error ? e.message : String(e)}`, e);
    }
  }
  const blockSize = cfg.blockSize ?? (geometry.logicalBlockSize === 4096 ? 4096 : 512);
  // Without O_DIRECT any block size works through the page cache, but presenting blocks
  // smaller than the device's sectors would make every write a read-modify-write.
  if (blockSize < geometry.logicalBlockSize) {
    fail(`block_size ${blockSize} is smaller than the device's logical block size ${geometry.logicalBlockSize}`);
  }
  const readOnly = cfg.readOnly === true;
  const io = env.native === undefined ? loadNativeBlockIo().io : env.native ?? undefined;
  const C = fs.constants;
  const excl = st.isBlockDevice() && cfg.exclusive !== false ? C.O_EXCL : 0;
  const fds: number[] = [];
  try {
    const fd = await openFd(cfg.dev, (readOnly ? C.O_RDONLY : C.O_RDWR) | excl);
    fds.push(fd);
    // The second descriptor is opened without O_EXCL: the exclusive claim is already ours.
    const syncFd = readOnly ? undefined : await openFd(cfg.dev, C.O_RDWR | C.O_DSYNC);
    if (syncFd !== undefined) fds.push(syncFd);
    let sizeBytes = geometry.sizeBytes;
    if (io && st.isBlockDevice()) {
      // BLKGETSIZE64 is the kernel's own answer; sysfs is the fallback.
      sizeBytes = await io.blockDeviceSize(fd).catch(() => sizeBytes);
    }
    const blockCount = Math.floor(sizeBytes / blockSize);
    if (blockCount === 0) fail(`is ${sizeBytes} bytes, smaller than one ${blockSize}-byte block`);
    const granularity = (geometry.discardGranularity ?? 0) > blockSize ? Math.floor((geometry.discardGranularity ?? 0) / blockSize) : undefined;
    const provisioning: FdProvisioningOptions | undefined = io
      ? { io, kind: 'block', unmap: geometry.discard === true, unmapZeroes: false, granularity }
      : undefined;
    return fdBlockDevice({
      fd,
      syncFd,
      blockSize,
      blockCount,
      readOnly,
      writeCache: !readOnly && cfg.write_back === true,
      label: what,
      ops: env.ops,
      provisioning,
    });
  } catch (e) {
    await Promise.all(fds.map((fd) => closeFd(fd).catch(() => undefined)));
    if (e instanceof BackstoreOpenError) throw e;
    const code = errnoCode(e);
    return fail(code === 'EBUSY' ? 'is in use (mounted or claimed); set exclusive false to share it' : `cannot open: ${code ?? String(e)}`, e);
  }
}
