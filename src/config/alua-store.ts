// alua_write_metadata=1: the access states of a storage object's persistent
// ALUA groups, kept across restarts in one JSON file per storage object
// (LIO keeps /var/target/alua/tpgs_<unit serial>/<group>). Written atomically:
// temp file, fsync, rename, fsync of the directory.

import { readJsonFile, writeFileAtomic } from '../util/atomic-file.js';
import { join } from 'node:path';

/** The shape the SCSI core saves (AluaSavedState of src/scsi/api.ts). */
export interface AluaMetadata {
  readonly version: 1;
  readonly groups: readonly { readonly id: number; readonly state: number; readonly status: number }[];
}

export interface AluaMetadataStore {
  load(): AluaMetadata | undefined;
  save(state: AluaMetadata): Promise<void>;
}

function isMetadata(v: unknown): v is AluaMetadata {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { version?: unknown; groups?: unknown };
  return (
    o.version === 1 &&
    Array.isArray(o.groups) &&
    o.groups.every((g: unknown) => {
      const x = g as { id?: unknown; state?: unknown; status?: unknown } | null;
      return x !== null && typeof x === 'object' && Number.isSafeInteger(x.id) && Number.isSafeInteger(x.state) && Number.isSafeInteger(x.status);
    })
  );
}

export function fileAluaStore(dir: string, wwn: string, onError: (message: string) => void): AluaMetadataStore {
  const file = join(dir, `tpgs_${wwn.replace(/[^0-9A-Za-z-]/g, '_')}.json`);
  return {
    load(): AluaMetadata | undefined {
      const parsed = readJsonFile(file, onError);
      if (parsed === undefined || isMetadata(parsed)) return parsed;
      onError(`ignoring ${file}: not ALUA metadata`);
      return undefined;
    },
    async save(state: AluaMetadata): Promise<void> {
      try {
        await writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
      } catch (err) {
        onError(`cannot save ALUA state to ${file}: ${(err as Error).message}`);
        throw err;
      }
    },
  };
}
