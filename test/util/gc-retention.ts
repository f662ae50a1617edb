// Measures V8 "nepotism": objects that left a long-lived container but are
// still kept alive by scavenges, because a dead copy of the container's
// storage in the old generation points at them (src/util/u32-map.ts).
//
// The container is made and promoted (two full GCs), then `churn` runs a
// sliding window of entries through it; after it has let go of all of them,
// two young-generation GCs run. Whatever of the churned objects is still on
// the heap then was kept by the container's garbage. Returned as a fraction
// of the bytes churned (0: nothing kept; a JavaScript Map measures ~0.4).

import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'major' | 'minor' }) => void;

let gcFn: Gc | undefined;
function gc(): Gc {
  if (gcFn === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as Gc;
  }
  return gcFn;
}

export interface Churn {
  /** Called once before the container is promoted, with a few entries. */
  warm(): void;
  /** Add entry `k` (a fresh object of `payload()`), remove entry `k - window`. */
  step(k: number, payload: () => object): void;
  /** Remove whatever is left. */
  drain(): void;
}

const OBJECT_BYTES = 64 * 8 + 64; // a 64-element array of small integers and its holder, roughly

export function retainedFraction(churn: Churn, steps = 20_000): number {
  const collect = gc();
  churn.warm();
  collect();
  collect();
  const used = () => v8.getHeapStatistics().used_heap_size;
  const base = used();
  let n = 0;
  const payload = () => ({ n: n++, pad: new Array<number>(64).fill(n) });
  for (let k = 1000; k < 1000 + steps; k++) churn.step(k, payload);
  churn.drain();
  collect({ type: 'minor' });
  collect({ type: 'minor' });
  return Math.max(0, used() - base) / (steps * OBJECT_BYTES);
}

/** A JavaScript Map under the same churn: what the check is calibrated against. */
export function mapChurn(window = 32): Churn {
  const map = new Map<number, object>();
  return {
    warm: () => {
      for (let i = 0; i < 8; i++) map.set(i, {});
    },
    step: (k, payload) => {
      map.set(k, payload());
      map.delete(k - window);
    },
    drain: () => map.clear(),
  };
}
