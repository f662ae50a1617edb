// Thin provisioning for descriptor-backed devices (SBC-3 §4.7): deallocation,
// cheap zeroing and allocation reporting through the native addon.
//
// fileio: unmap = fallocate(PUNCH_HOLE|KEEP_SIZE), which frees whole file
// system blocks and zeroes the partial ones at the edges, so unmapped blocks
// always read as zeros (LBPRZ=1); writeZeroes = fallocate(ZERO_RANGE); the
// allocation map comes from lseek(SEEK_DATA/SEEK_HOLE).
// block: unmap = BLKDISCARD (what the device returns afterwards is its own
// business, so LBPRZ=0); writeZeroes = BLKZEROOUT. No allocation map.
//
// anchor (offered with unmap): zeros that stay allocated. fileio writes zero
// buffers: ZERO_RANGE would leave unwritten extents, which SEEK_DATA reports
// as holes on ext4/xfs (GET LBA STATUS would then call anchored LBAs
// deallocated), and tmpfs refuses it (a file system that stores zero blocks
// as holes, e.g. ZFS with compression, would still defeat this). block uses
// BLKZEROOUT, which the kernel issues with BLKDEV_ZERO_NOUNMAP (it never
// discards), else zero buffers.
//
// A file system or device that turns out not to support a call (EOPNOTSUPP
// and friends) is remembered per device and the portable path is taken from
// then on: zeros are written, and every block is reported mapped.

import type { NativeBlockIo } from '../native/blockio.js';
import { isUnsupported } from '../native/blockio.js';
import { BackstoreIoError, type BlockDevice, type BlockRange, type LbaExtent } from './types.js';

export interface FdProvisioningOptions {
  readonly io: NativeBlockIo;
  readonly kind: 'file' | 'block';
  /** Offer unmap (the opener probed that deallocation works here). */
  readonly unmap: boolean;
  /** Deallocated ranges read back as zeros. */
  readonly unmapZeroes: boolean;
  /** Preferred unmap unit in blocks. */
  readonly granularity?: number;
}

/** What fdio.ts lends the provisioning members. */
export interface FdProvisioningContext {
  readonly fd: number;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly readOnly: boolean;
  readonly writeCache: boolean;
  readonly label: string;
  /** Throws RangeError when [lba, lba+blocks) is not on the device. */
  checkRange(lba: number, blocks: number): void;
  /** Hold the descriptors open for the duration of `run` (see fdio.ts). */
  track<T>(dir: BackstoreIoError['direction'], lba: number, run: () => Promise<T>): Promise<T>;
  /** fdatasync. */
  sync(lba: number): Promise<void>;
  /** Write zero buffers over the range (the portable path); call inside track. */
  writeZeroBuffers(lba: number, blocks: number): Promise<void>;
}

export type FdProvisioningMembers = {
  -readonly [K in 'unmap' | 'writeZeroes' | 'anchor' | 'lbaStatus' | 'unmapZeroes' | 'unmapGranularity']?: BlockDevice[K];
};

/** Extents are merged and clipped to [lba, end). */
function pushExtent(out: LbaExtent[], lba: number, end: number, mapped: boolean): void {
  if (end <= lba) return;
  const last = out[out.length - 1];
  if (last !== undefined && last.mapped === mapped && last.lba + last.blocks === lba) last.blocks += end - lba;
  else out.push({ lba, blocks: end - lba, mapped });
}

export function fdProvisioning(o: FdProvisioningOptions, ctx: FdProvisioningContext): FdProvisioningMembers {
  const { io, kind } = o;
  const { fd, blockSize } = ctx;
  // Per-device memory of calls the medium refused as unsupported.
  let canDeallocate = true;
  let canZero = true;
  let canSeek = kind === 'file';

  const fail = (dir: BackstoreIoError['direction'], lba: number, what: string, e: unknown) =>
    new BackstoreIoError(dir, lba, `${ctx.label}: ${what}: ${(e as { code?: string }).code ?? String(e)}`, { cause: e });

  const refuseReadOnly = (lba: number): void => {
    if (ctx.readOnly) throw new BackstoreIoError('write', lba, `${ctx.label}: device is read-only`);
  };

  async function deallocate(r: BlockRange): Promise<void> {
    if (r.blocks === 0) return;
    if (canDeallocate) {
      try {
        const off = r.lba * blockSize;
        const len = r.blocks * blockSize;
        await (kind === 'file' ? io.punchHole(fd, off, len) : io.discard(fd, off, len));
        return;
      } catch (e) {
        if (!isUnsupported(e)) throw fail('unmap', r.lba, kind === 'file' ? 'fallocate(PUNCH_HOLE) failed' : 'BLKDISCARD failed', e);
        canDeallocate = false;
      }
    }
    // The medium stopped offering deallocation: keep the LBPRZ promise by writing zeros.
    if (o.unmapZeroes) await ctx.writeZeroBuffers(r.lba, r.blocks);
  }

  async function zero(lba: number, blocks: number): Promise<void> {
    if (blocks === 0) return;
    if (canZero) {
      try {
        const off = lba * blockSize;
        const len = blocks * blockSize;
        await (kind === 'file' ? io.zeroRange(fd, off, len) : io.zeroOut(fd, off, len));
        return;
      } catch (e) {
        if (!isUnsupported(e)) throw fail('write', lba, kind === 'file' ? 'fallocate(ZERO_RANGE) failed' : 'BLKZEROOUT failed', e);
        canZero = false;
      }
    }
    await ctx.writeZeroBuffers(lba, blocks);
  }

  /** Zeros that stay allocated; true when an ioctl (not an O_DSYNC write) did it, so a sync is still due. */
  async function allocateZeros(lba: number, blocks: number): Promise<boolean> {
    if (blocks === 0) return false;
    if (kind === 'block' && canZero) {
      try {
        await io.zeroOut(fd, lba * blockSize, blocks * blockSize);
        return true;
      } catch (e) {
        if (!isUnsupported(e)) throw fail('write', lba, 'BLKZEROOUT failed', e);
        canZero = false;
      }
    }
    await ctx.writeZeroBuffers(lba, blocks);
    return false;
  }

  async function walk(lba: number, blocks: number, maxExtents: number): Promise<LbaExtent[]> {
    const end = lba + blocks;
    const out: LbaExtent[] = [];
    if (!canSeek) {
      pushExtent(out, lba, end, true);
      return out;
    }
    let at = lba;
    try {
      while (at < end && out.length < maxExtents) {
        const data = await io.seekData(fd, at * blockSize);
        // A block is mapped if any of its bytes is: data starts round down, holes round up.
        const dataLba = data < 0 ? end : Math.min(end, Math.floor(data / blockSize));
        if (dataLba > at) {
          pushExtent(out, at, dataLba, false);
          at = dataLba;
          if (at >= end || out.length >= maxExtents) break;
        }
        const hole = await io.seekHole(fd, Math.max(data, at * blockSize));
        const holeLba = hole < 0 ? end : Math.min(end, Math.ceil(hole / blockSize));
        pushExtent(out, at, Math.max(holeLba, at + 1), true);
        at = Math.max(holeLba, at + 1);
      }
    } catch (e) {
      if (!isUnsupported(e)) throw fail('read', at, 'lseek(SEEK_DATA/SEEK_HOLE) failed', e);
      canSeek = false;
      pushExtent(out, at, end, true);
    }
    return out;
  }

  const members: FdProvisioningMembers = {
    unmapZeroes: o.unmap && o.unmapZeroes,
    async writeZeroes(lba, blocks) {
      ctx.checkRange(lba, blocks);
      refuseReadOnly(lba);
      return ctx.track('write', lba, async () => {
        await zero(lba, blocks);
        if (!ctx.writeCache && canZero) await ctx.sync(lba);
      });
    },
  };
  if (o.granularity !== undefined) members.unmapGranularity = o.granularity;
  if (o.unmap && !ctx.readOnly) {
    members.unmap = async (ranges) => {
      for (const r of ranges) ctx.checkRange(r.lba, r.blocks);
      const first = ranges[0]?.lba ?? 0;
      refuseReadOnly(first);
      return ctx.track('unmap', first, async () => {
        for (const r of ranges) await deallocate(r);
        // No volatile cache: the deallocation is as durable as a write would be.
        if (!ctx.writeCache) await ctx.sync(first);
      });
    };
    members.anchor = async (ranges) => {
      for (const r of ranges) ctx.checkRange(r.lba, r.blocks);
      const first = ranges[0]?.lba ?? 0;
      refuseReadOnly(first);
      return ctx.track('write', first, async () => {
        let unsynced = false;
        for (const r of ranges) if (await allocateZeros(r.lba, r.blocks)) unsynced = true;
        if (!ctx.writeCache && unsynced) await ctx.sync(first);
      });
    };
  }
  if (kind === 'file') {
    members.lbaStatus = async (lba, blocks, maxExtents) => {
      ctx.checkRange(lba, blocks);
      const limit = maxExtents !== undefined && maxExtents >= 1 ? Math.floor(maxExtents) : Number.MAX_SAFE_INTEGER;
      return ctx.track('read', lba, () => walk(lba, blocks, limit));
    };
  }
  return members;
}
