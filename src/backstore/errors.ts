// Opening a backstore can fail for configuration or environment reasons
// (missing file, not a block device, ...). I/O failures after open are
// BackstoreIoError (types.ts).

export class BackstoreOpenError extends Error {
  readonly code = 'TSGT_ERR_BACKSTORE_OPEN';
  /** Storage object name, when known. */
  readonly storageObject: string | undefined;
  /** JSON path of the storage object in the config, e.g. "storage_objects[2]", when known. */
  readonly path: string | undefined;

  constructor(message: string, details: { storageObject?: string; path?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'BackstoreOpenError';
    this.storageObject = details.storageObject;
    this.path = details.path;
  }
}

/** errno code of a Node fs error, if any. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}
