// Backstore contract: blocks, never CDBs (SPDK bdev / LIO exec_cmd_ops style).
//
// Completions may arrive out of order; the SCSI layer owns ordering rules.
// An optional method present means the capability is advertised (LIO's
// "op present ⇒ feature").

export interface BlockRange {
  lba: number;
  blocks: number;
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
  /** Write iovec-style: the buffers are written back to back starting at `lba`. */
  write(lba: number, data: readonly Buffer[], options?: WriteOptions): Promise<void>;
  /** Make all completed writes durable. */
  flush(): Promise<void>;
  unmap?(ranges: readonly BlockRange[]): Promise<void>;
  writeZeroes?(lba: number, blocks: number): Promise<void>;
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
