// Backstore contract: blocks, never CDBs (SPDK bdev / LIO exec_cmd_ops style).
//
// Completions may arrive out of order; the SCSI layer owns ordering rules.
// An optional method present means the capability is advertised (LIO's
// "op present ⇒ feature").

export interface BlockRange {
  lba: number;
  blocks: number;
}

/** One run of blocks with the same provisioning state (GET LBA STATUS, SBC-3 §5.7). */
export interface LbaExtent {
  lba: number;
  blocks: number;
  /** true: storage is allocated; false: deallocated (a hole) — reads return zeros when `unmapZeroes`. */
  mapped: boolean;
}

/**
 * Bytes of an open file a transport may send without copying them through
 * user space (sendfile). The descriptor is the device's: use it before the
 * current event-loop task ends (the device may close it after). The bytes
 * sent are those in the file at the time of sending.
 */
export interface FileExtent {
  readonly fd: number;
  readonly position: number;
  readonly length: number;
}

export interface WriteOptions {
  /** Force Unit Access: the data is durable before the promise resolves. */
  fua?: boolean;
}

export interface BlockDevice {
  readonly blockSize: number;
  readonly blockCount: number;
  readonly readOnly: boolean;
  /** Volatile write cache in effect (rtslib write_back). When false every write is durable on completion. */
  readonly writeCache: boolean;
  /**
   * Read `blocks` blocks at `lba`. When `into` is given (length ≥ blocks*blockSize)
   * the data lands there (zero-copy into a Data-In payload) and `into` is returned.
   */
  read(lba: number, blocks: number, into?: Buffer): Promise<Buffer>;
  /**
   * Where `blocks` blocks at `lba` lie in an open file whose pages are all in
   * memory (tmpfs), so a transport can send them with sendfile instead of
   * read(): undefined when the device cannot promise that (disk files, whose
   * cold pages would block, encrypted or RAM devices). Same range checks as read.
   */
  fileExtent?(lba: number, blocks: number): FileExtent | undefined;
  /** Write iovec-style: the buffers are written back to back starting at `lba`. */
  write(lba: number, data: readonly Buffer[], options?: WriteOptions): Promise<void>;
  /** Make all completed writes durable. */
  flush(): Promise<void>;
  /** Deallocate (thin provisioning). Present only when the device really frees storage. */
  unmap?(ranges: readonly BlockRange[]): Promise<void>;
  /** Make the range read as zeros (may be cheaper than writing them; the blocks stay mapped where the medium allows). */
  writeZeroes?(lba: number, blocks: number): Promise<void>;
  /**
   * Anchor (the anchored LBA state of SBC-3 §4.7; UNMAP and WRITE SAME with
   * ANCHOR=1): make the ranges read as zeros with their storage allocated, so
   * that a later write to them cannot fail for lack of space and lbaStatus
   * never reports them deallocated. Unlike writeZeroes, which may deallocate
   * (ramdisk frees whole chunks; fallocate ZERO_RANGE leaves unwritten
   * extents that SEEK_DATA reports as holes). Present only where the device
   * keeps that promise; on a thin LU it means ANC_SUP=1.
   */
  anchor?(ranges: readonly BlockRange[]): Promise<void>;
  /**
   * Provisioning state of [lba, lba+blocks), in order, contiguous, starting at
   * `lba`. With `maxExtents` the walk may stop early: the extents then cover a
   * prefix of the range. Absent: every block is mapped.
   */
  lbaStatus?(lba: number, blocks: number, maxExtents?: number): Promise<LbaExtent[]>;
  /** LBPRZ: deallocated blocks read as zeros (true for punched holes and ramdisk chunks). */
  readonly unmapZeroes?: boolean;
  /** Preferred unmap unit in blocks (file system block or ramdisk chunk); unmapping less only zeroes. */
  readonly unmapGranularity?: number;
  /**
   * Replace the media encryption key (SBC-4 SANITIZE CRYPTOGRAPHIC ERASE):
   * durable when it resolves; data written before then no longer decrypts.
   * Present only on a device that stores user data encrypted (encrypted.ts).
   */
  cryptoErase?(): Promise<void>;
  close(): Promise<void>;
}

/** An I/O failure from the backing store; the SCSI layer maps it to MEDIUM ERROR sense. */
export class BackstoreIoError extends Error {
  readonly code = 'TSGT_ERR_BACKSTORE_IO';
  constructor(
    readonly direction: 'read' | 'write' | 'flush' | 'unmap',
    readonly lba: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BackstoreIoError';
  }
}
