// ramdisk backstore (LIO rd_mcp): memory allocated in fixed-size chunks on
// first write, so a large ramdisk costs only what was written. Unallocated
// chunks read as zeros without being allocated; unmap and writeZeroes free
// every chunk they cover completely. `nullio` (rd_mcp's rd_nullio) reads
// zeros and discards writes. lbaStatus reports the chunk map: a block is
// mapped when its chunk is allocated (nullio allocates nothing).
// anchor allocates every chunk the range touches and zeroes the range, so
// anchored blocks read as zeros and are reported mapped. nullio has no
// anchor: it could not keep anchored blocks from reading as deallocated.

import { BackstoreIoError, type BlockDevice, type BlockRange, type LbaExtent } from './types.js';
import { BackstoreOpenError } from './errors.js';
import { checkRange, totalLength } from './fdio.js';

export interface RamdiskOptions {
  /** Bytes; rounded down to whole blocks. */
  size: number;
  blockSize: number;
  nullio?: boolean;
  /** Allocation unit in bytes, a multiple of blockSize (default 1 MiB). */
  chunkSize?: number;
  name?: string;
}

export interface RamdiskDevice extends BlockDevice {
  /** Chunks currently allocated (for tests and statistics). */
  readonly allocatedChunks: number;
  readonly chunkSize: number;
  unmap(ranges: readonly BlockRange[]): Promise<void>;
  writeZeroes(lba: number, blocks: number): Promise<void>;
  /** Absent on nullio. */
  anchor?(ranges: readonly BlockRange[]): Promise<void>;
  lbaStatus(lba: number, blocks: number, maxExtents?: number): Promise<LbaExtent[]>;
  readonly unmapZeroes: true;
  readonly unmapGranularity: number;
}

const DEFAULT_CHUNK = 1 << 20;

export async function openRamdisk(cfg: RamdiskOptions): Promise<RamdiskDevice> {
  const what = cfg.name ? `ramdisk ${cfg.name}` : 'ramdisk';
  const { blockSize } = cfg;
  const chunkSize = cfg.chunkSize ?? Math.max(DEFAULT_CHUNK, blockSize);
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new BackstoreOpenError(`${what}: invalid block size ${blockSize}`, { storageObject: cfg.name });
  if (!Number.isSafeInteger(chunkSize) || chunkSize % blockSize !== 0) {
    throw new BackstoreOpenError(`${what}: chunk size ${chunkSize} is not a multiple of the block size`, { storageObject: cfg.name });
  }
  const blockCount = Number.isSafeInteger(cfg.size) ? Math.floor(cfg.size / blockSize) : 0;
  if (blockCount <= 0) throw new BackstoreOpenError(`${what}: size ${cfg.size} holds no ${blockSize}-byte block`, { storageObject: cfg.name });
  const nullio = cfg.nullio === true;
  const chunks = new Map<number, Buffer>();
  let closed = false;

  const alive = (dir: BackstoreIoError['direction'], lba: number) => {
    if (closed) throw new BackstoreIoError(dir, lba, `${what}: device is closed`);
  };

  /** Visit [byteOffset, byteOffset+length) chunk by chunk. */
  function eachChunk(offset: number, length: number, fn: (index: number, within: number, len: number, done: number) => void): void {
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / chunkSize);
      const within = pos - index * chunkSize;
      const len = Math.min(chunkSize - within, length - done);
      fn(index, within, len, done);
      done += len;
    }
  }

  function zeroRange(lba: number, blocks: number): void {
    eachChunk(lba * blockSize, blocks * blockSize, (index, within, len) => {
      const chunk = chunks.get(index);
      if (!chunk) return;
      // The last chunk may extend past the device end; covering its used part frees it.
      const used = Math.min(chunkSize, blockCount * blockSize - index * chunkSize);
      if (within === 0 && len >= used) chunks.delete(index);
      else chunk.fill(0, within, within + len);
    });
  }

  /** Zero the range in allocated chunks (allocating those it touches). */
  function anchorRange(lba: number, blocks: number): void {
    eachChunk(lba * blockSize, blocks * blockSize, (index, within, len) => {
      const chunk = chunks.get(index);
      if (chunk) chunk.fill(0, within, within + len);
      else chunks.set(index, Buffer.alloc(chunkSize));
    });
  }

  const dev: RamdiskDevice = {
    blockSize,
    blockCount,
    readOnly: false,
    // Memory is the medium: nothing is volatile beyond it, so no cache to flush.
    writeCache: false,
    chunkSize,
    unmapZeroes: true,
    unmapGranularity: chunkSize / blockSize,
    get allocatedChunks() {
      return chunks.size;
    },

    async read(lba, blocks, into) {
      checkRange(dev, lba, blocks);
      alive('read', lba);
      const length = blocks * blockSize;
      if (into && into.length < length) throw new RangeError(`read buffer holds ${into.length} bytes, ${length} needed`);
      const out = into ?? Buffer.allocUnsafe(length);
      if (nullio) {
        out.fill(0, 0, length);
        return out;
      }
      eachChunk(lba * blockSize, length, (index, within, len, done) => {
        const chunk = chunks.get(index);
        if (chunk) chunk.copy(out, done, within, within + len);
        else out.fill(0, done, done + len);
      });
      return out;
    },

    async write(lba, data) {
      const length = totalLength(data);
      if (length % blockSize !== 0) throw new RangeError(`write of ${length} bytes is not a multiple of the block size ${blockSize}`);
      checkRange(dev, lba, length / blockSize);
      alive('write', lba);
      if (nullio) return;
      let offset = lba * blockSize;
      for (const buf of data) {
        eachChunk(offset, buf.length, (index, within, len, done) => {
          let chunk = chunks.get(index);
          if (!chunk) {
            chunk = Buffer.alloc(chunkSize);
            chunks.set(index, chunk);
          }
          buf.copy(chunk, within, done, done + len);
        });
        offset += buf.length;
      }
    },

    async flush() {
      alive('flush', 0);
    },

    async unmap(ranges) {
      for (const r of ranges) checkRange(dev, r.lba, r.blocks);
      alive('unmap', ranges[0]?.lba ?? 0);
      if (!nullio) for (const r of ranges) zeroRange(r.lba, r.blocks);
    },

    async writeZeroes(lba, blocks) {
      checkRange(dev, lba, blocks);
      alive('write', lba);
      if (!nullio) zeroRange(lba, blocks);
    },

    ...(nullio
      ? {}
      : {
          async anchor(ranges: readonly BlockRange[]) {
            for (const r of ranges) checkRange(dev, r.lba, r.blocks);
            alive('write', ranges[0]?.lba ?? 0);
            for (const r of ranges) anchorRange(r.lba, r.blocks);
          },
        }),

    async lbaStatus(lba, blocks, maxExtents) {
      checkRange(dev, lba, blocks);
      alive('read', lba);
      const limit = maxExtents !== undefined && maxExtents >= 1 ? Math.floor(maxExtents) : Number.MAX_SAFE_INTEGER;
      const perChunk = chunkSize / blockSize;
      const end = lba + blocks;
      const out: LbaExtent[] = [];
      for (let at = lba; at < end; ) {
        const index = Math.floor(at / perChunk);
        const next = Math.min(end, (index + 1) * perChunk);
        const mapped = chunks.has(index);
        const last = out[out.length - 1];
        if (last !== undefined && last.mapped === mapped) last.blocks += next - at;
        else if (out.length >= limit) break;
        else out.push({ lba: at, blocks: next - at, mapped });
        at = next;
      }
      return out;
    },

    async close() {
      closed = true;
      chunks.clear();
    },
  };
  return dev;
}
