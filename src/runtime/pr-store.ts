// APTPL persistence for persistent reservations (SPC-4 §5.9.5): one JSON file
// per logical unit, written atomically (temp file, fsync, rename, fsync dir),
// like LIO's /var/target/pr/aptpl_<wwn>.

import { readJsonFile, writeFileAtomic } from '../util/atomic-file.js';
import { join } from 'node:path';
import type { PrState, PrStore } from '../scsi/api.js';

export function filePrStore(dir: string, wwn: string, onError: (message: string) => void): PrStore {
  const file = join(dir, `aptpl_${wwn.replace(/[^0-9A-Za-z-]/g, '_')}.json`);
  return {
    load(): PrState | undefined {
      // The SCSI core validates the shape (fromPrState) and ignores what does not fit.
      return readJsonFile(file, onError) as PrState | undefined;
    },
    save(state: PrState): Promise<void> {
      return writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
    },
  };
}
