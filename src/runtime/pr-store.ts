// APTPL persistence for persistent reservations (SPC-4 §5.9.5): one JSON file
// per logical unit, written atomically (temp file, fsync, rename, fsync dir),
// like LIO's /var/target/pr/aptpl_<wwn>.

import { readFileSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrState, PrStore } from '../scsi/api.js';

export function filePrStore(dir: string, wwn: string, onError: (message: string) => void): PrStore {
  const file = join(dir, `aptpl_${wwn.replace(/[^0-9A-Za-z-]/g, '_')}.json`);
  return {
    load(): PrState | undefined {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(`cannot read ${file}: ${(err as Error).message}`);
        return undefined;
      }
      try {
        // The SCSI core validates the shape (fromPrState) and ignores what does not fit.
        return JSON.parse(text) as PrState;
      } catch (err) {
        onError(`ignoring unreadable ${file}: ${(err as Error).message}`);
        return undefined;
      }
    },
    async save(state: PrState): Promise<void> {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file}.tmp-${process.pid}`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify(state, null, 2)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    },
  };
}
