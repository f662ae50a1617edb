// An in-memory BlockDevice for the SCSI tests, with fault and latency hooks.

import { BackstoreIoError, type BlockDevice, type WriteOptions } from '../../src/backstore/types.js';

export interface MemoryDeviceOptions {
  blockSize?: number;
  blockCount?: number;
  readOnly?: boolean;
  writeCache?: boolean;
}

export interface MemoryDevice extends BlockDevice {
  readonly bytes: Buffer;
  blockCount: number;
  /** Fail the next read/write/flush with this error. */
  failNext: { op: 'read' | 'write' | 'flush'; error: unknown } | undefined;
  /** When set, I/O waits for this promise before completing. */
  gate: Promise<void> | undefined;
  readonly log: { op: string; lba: number; blocks: number; fua?: boolean }[];
  flushes: number;
}

export function memoryDevice(options: MemoryDeviceOptions = {}): MemoryDevice {
  const blockSize = options.blockSize ?? 512;
  const blockCount = options.blockCount ?? 1024;
  const dev: MemoryDevice = {
    blockSize,
    blockCount,
    readOnly: options.readOnly ?? false,
    writeCache: options.writeCache ?? true,
    bytes: Buffer.alloc(blockSize * blockCount),
    failNext: undefined,
    gate: undefined,
    log: [],
    flushes: 0,
    async read(lba: number, blocks: number, into?: Buffer): Promise<Buffer> {
      if (dev.gate) await dev.gate;
      dev.log.push({ op: 'read', lba, blocks });
      if (dev.failNext?.op === 'read') {
        const e = dev.failNext.error;
        dev.failNext = undefined;
        throw e;
      }
      const out = into ?? Buffer.alloc(blocks * blockSize);
      dev.bytes.copy(out, 0, lba * blockSize, (lba + blocks) * blockSize);
      return out;
    },
    async write(lba: number, data: readonly Buffer[], opts?: WriteOptions): Promise<void> {
      if (dev.gate) await dev.gate;
      let off = lba * blockSize;
      let n = 0;
      for (const b of data) n += b.length;
      dev.log.push({ op: 'write', lba, blocks: n / blockSize, fua: opts?.fua });
      if (dev.failNext?.op === 'write') {
        const e = dev.failNext.error;
        dev.failNext = undefined;
        throw e;
      }
      for (const b of data) {
        b.copy(dev.bytes, off);
        off += b.length;
      }
    },
    async flush(): Promise<void> {
      dev.flushes++;
      if (dev.failNext?.op === 'flush') {
        const e = dev.failNext.error;
        dev.failNext = undefined;
        throw e;
      }
    },
    async close(): Promise<void> {},
  };
  return dev;
}

export function ioError(direction: 'read' | 'write', lba: number): BackstoreIoError {
  return new BackstoreIoError(direction, lba, 'injected');
}
