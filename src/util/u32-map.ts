// A map from uint32 keys (ITTs, CmdSNs) to objects for the per-command path,
// where a JavaScript Map would make the GC keep dead commands alive.
//
// Why not Map: V8 stores a Map in an ordered hash table and, whenever the
// table is rebuilt (it is, every few dozen inserts when a long-lived Map
// holds a sliding window of keys), the old table keeps a pointer to its
// replacement for live iterators. Once one such table has been promoted to
// the old generation, every later table — and every command object in it —
// stays reachable from that dead table until the next full GC: "nepotism".
// Measured on 4 KiB QD32 reads: 15 % of all allocation survived each
// scavenge, 7-9 MB copied and promoted per scavenge, 5-18 ms pauses, and
// p99 latency with 4 sessions at 7× the mean (docs/PERFORMANCE.md).
//
// Open addressing with linear probing in two fixed arrays that are only
// replaced when the table grows; removal shifts later entries back
// (Knuth, TAOCP 6.4 Algorithm R) instead of leaving tombstones, and clears
// the slot it frees, so no array ever refers to an entry that left.

const EMPTY_TABLE_BITS = 5;

/** `undefined` marks a free slot, so it cannot be stored as a value. */
export class U32Map<V> {
  #bits = EMPTY_TABLE_BITS;
  #mask = (1 << EMPTY_TABLE_BITS) - 1;
  #keys = new Uint32Array(1 << EMPTY_TABLE_BITS);
  #values: (V | undefined)[] = new Array<V | undefined>(1 << EMPTY_TABLE_BITS).fill(undefined);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  #home(key: number): number {
    // Fibonacci hashing: consecutive keys (ITTs usually are) spread over the table.
    return Math.imul(key, 0x9e3779b1) >>> (32 - this.#bits);
  }

  /** Slot holding `key`, or -1. */
  #find(key: number): number {
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    for (let i = this.#home(key); ; i = (i + 1) & mask) {
      if (values[i] === undefined) return -1;
      if (keys[i] === key) return i;
    }
  }

  get(key: number): V | undefined {
    const i = this.#find(key >>> 0);
    return i < 0 ? undefined : this.#values[i];
  }

  has(key: number): boolean {
    return this.#find(key >>> 0) >= 0;
  }

  set(key: number, value: V): this {
    if (value === undefined) throw new TypeError('U32Map cannot hold undefined');
    key >>>= 0;
    // Load factor ≤ 1/2 keeps probe sequences short.
    if ((this.#size + 1) * 2 > this.#values.length) this.#grow();
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    for (let i = this.#home(key); ; i = (i + 1) & mask) {
      if (values[i] === undefined) {
        keys[i] = key;
        values[i] = value;
        this.#size++;
        return this;
      }
      if (keys[i] === key) {
        values[i] = value;
        return this;
      }
    }
  }

  delete(key: number): boolean {
    let hole = this.#find(key >>> 0);
    if (hole < 0) return false;
    const keys = this.#keys;
    const values = this.#values;
    const mask = this.#mask;
    // Algorithm R: move back every later entry of the cluster whose home slot
    // does not lie cyclically in (hole, j]; it would be unreachable otherwise.
    for (let j = (hole + 1) & mask; values[j] !== undefined; j = (j + 1) & mask) {
      const home = this.#home(keys[j]);
      const reachable = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (reachable) continue;
      keys[hole] = keys[j];
      values[hole] = values[j];
      hole = j;
    }
    values[hole] = undefined;
    keys[hole] = 0;
    this.#size--;
    return true;
  }

  clear(): void {
    this.#values.fill(undefined);
    this.#keys.fill(0);
    this.#size = 0;
  }

  /** The values, in no particular order; a snapshot, so the map may change while it is used. */
  valuesSnapshot(): V[] {
    const out: V[] = [];
    for (const v of this.#values) if (v !== undefined) out.push(v);
    return out;
  }

  /** Keys in no particular order (a snapshot). */
  keysSnapshot(): number[] {
    const out: number[] = [];
    const values = this.#values;
    for (let i = 0; i < values.length; i++) if (values[i] !== undefined) out.push(this.#keys[i]);
    return out;
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldValues = this.#values;
    this.#bits++;
    const capacity = 1 << this.#bits;
    this.#mask = capacity - 1;
    this.#keys = new Uint32Array(capacity);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#size = 0;
    for (let i = 0; i < oldValues.length; i++) {
      const v = oldValues[i];
      if (v !== undefined) this.set(oldKeys[i], v);
    }
    // The old array may already be in the old generation: leave it pointing at nothing.
    oldValues.fill(undefined);
  }
}
