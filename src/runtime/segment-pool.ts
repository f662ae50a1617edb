// Reusable buffers for data segments: received Data-Out / immediate data,
// and Data-In read from the backstore. A 1 MiB write arrives as several
// 256 KiB segments and a 1 MiB read needs a 1 MiB buffer; allocating each fresh
// costs little by itself, but the external memory makes V8 run a scavenge
// every few milliseconds ("external memory pressure"). A buffer comes back only
// when nothing references it any more: received segments when the SCSI layer
// says the command is done with them (ScsiCommandRequest.releaseData, after
// the backstore write completed), Data-In once the socket handed it to the
// kernel (Wire.send onSent). release() ignores buffers it did not hand out.

/**
 * Received segments from one page on are pooled: the socket reader copies
 * every segment out of its reused buffer, and a 4 KiB write's segment from
 * the allocator would be a fresh ArrayBuffer (external memory) per write.
 */
const POOLED_MIN = 4096;
/** Data-In buffers from this size on are pooled. */
const DATA_IN_POOLED_MIN = 4096;

export class SegmentPool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  /** Buffers handed out and not yet released: release() ignores anything else. */
  readonly #out = new WeakSet<ArrayBuffer>();
  #freeBytes = 0;

  constructor(readonly maxFreeBytes = 64 * 1024 * 1024) {}

  /** Bytes held for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /**
   * A pooled buffer for Data-In of at least one page, or undefined below that
   * (the caller allocates). Data-In buffers always come back (once sent), so
   * even 4 KiB reads reuse theirs instead of carving fresh slabs.
   */
  allocateDataIn(length: number): Buffer | undefined {
    return length < DATA_IN_POOLED_MIN ? undefined : this.#pooled(length);
  }

  allocate(length: number): Buffer {
    if (length < POOLED_MIN) return Buffer.allocUnsafe(length);
    return this.#pooled(length);
  }

  #pooled(length: number): Buffer {
    const size = sizeClass(length);
    const ab = this.#free.get(size)?.pop();
    if (ab) {
      this.#freeBytes -= size;
      this.#out.add(ab);
      return Buffer.from(ab, 0, length);
    }
    const fresh = Buffer.allocUnsafeSlow(size);
    this.#out.add(fresh.buffer);
    return fresh.subarray(0, length);
  }

  /** The owner no longer references these (views of) pooled buffers. */
  release(buffers: readonly Buffer[]): void {
    for (const b of buffers) {
      const ab = b.buffer as ArrayBuffer;
      if (!this.#out.has(ab)) continue;
      this.#out.delete(ab);
      const size = ab.byteLength;
      if (this.#freeBytes + size > this.maxFreeBytes) continue;
      let list = this.#free.get(size);
      if (!list) {
        list = [];
        this.#free.set(size, list);
      }
      list.push(ab);
      this.#freeBytes += size;
    }
  }
}

/** Next power of two: few classes, at most 2× slack. */
function sizeClass(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}
