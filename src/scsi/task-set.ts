// The task set of one logical unit (SAM-5 §8): every task in flight, with the
// ordering rules of the task attributes and of overlapping block ranges.

import type { TaskAttribute } from './api.js';

export interface BlockExtent {
  readonly lba: number;
  readonly blocks: number;
  /** The task modifies these blocks. */
  readonly write: boolean;
}

export interface TaskEntry {
  readonly nexusId: string;
  readonly tag: number;
  readonly attribute: TaskAttribute;
  /** Created on first use (most tasks never need a signal); already aborted if the task was. */
  readonly controller: AbortController;
  /** Whether the task was aborted, without creating the controller. */
  readonly aborted: boolean;
  readonly extent: BlockExtent | undefined;
  /** Resolves when the task has fully left the device server (I/O finished or cancelled). */
  readonly finished: Promise<void>;
}

/** A task just entered, with the older tasks it must wait for (undefined: none, the usual case). */
export interface AdmittedTask extends TaskEntry {
  readonly waitFor: readonly Promise<void>[] | undefined;
}

const NONE: readonly Promise<void>[] = Object.freeze([]);

const SETTLED: Promise<void> = Promise.resolve();

/**
 * The AbortController and the `finished` promise are made lazily: a 4 KiB
 * read at QD32 needs neither, and creating them per task measured ~3% of the
 * CPU profile (createAbortSignal) plus GC.
 */
class Entry implements AdmittedTask {
  waitFor: Promise<void>[] | undefined;
  /** Neighbours in the task set's list; both cleared when the entry leaves. */
  older: Entry | undefined = undefined;
  newer: Entry | undefined = undefined;
  /** The set the entry is in (undefined once it left). */
  owner: TaskSet | undefined = undefined;
  #controller: AbortController | undefined;
  #aborted = false;
  #left = false;
  #finished: Promise<void> | undefined;
  #settle: (() => void) | undefined;

  constructor(
    readonly nexusId: string,
    readonly tag: number,
    readonly attribute: TaskAttribute,
    readonly extent: BlockExtent | undefined,
  ) {}

  get controller(): AbortController {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get finished(): Promise<void> {
    if (this.#left) return SETTLED;
    this.#finished ??= new Promise<void>((resolve) => (this.#settle = resolve));
    return this.#finished;
  }

  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#controller?.abort();
  }

  settle(): void {
    this.#left = true;
    this.#settle?.();
  }
}

function overlaps(a: BlockExtent, b: BlockExtent): boolean {
  return a.lba < b.lba + b.blocks && b.lba < a.lba + a.blocks;
}

/**
 * The set is an intrusive list in arrival order, not a Set: a long-lived Set
 * whose members churn makes V8 keep every departed task alive until a full GC
 * (see src/util/u32-map.ts), and counting ORDERED tasks and writes lets the
 * usual admission — a SIMPLE read, nothing ORDERED in flight, no write in
 * flight — skip the walk over every other task.
 */
export class TaskSet {
  #oldest: Entry | undefined = undefined;
  #newest: Entry | undefined = undefined;
  #size = 0;
  /** Entries with attribute 'ordered'. */
  #ordered = 0;
  /** Entries with an extent. */
  #extents = 0;
  /** Entries whose extent is a write. */
  #writes = 0;

  get size(): number {
    return this.#size;
  }

  /**
   * Enter a task; returns it and the tasks it must wait for. SAM-5 §8.6:
   * HEAD OF QUEUE waits for nothing, ORDERED for every older task, SIMPLE for
   * older ORDERED tasks. SBC-3 §4.16 leaves overlapping simple commands
   * unordered, but we keep overlapping block I/O (one of them a write) in
   * arrival order so completions stay consistent.
   */
  enter(nexusId: string, tag: number, attribute: TaskAttribute, extent: BlockExtent | undefined): { entry: TaskEntry; waitFor: readonly Promise<void>[] } {
    const entry = this.admit(nexusId, tag, attribute, extent);
    return { entry, waitFor: entry.waitFor ?? NONE };
  }

  /** enter() without the result wrapper and without an array when nothing is older (the per-command path). */
  admit(nexusId: string, tag: number, attribute: TaskAttribute, extent: BlockExtent | undefined): AdmittedTask {
    const entry = new Entry(nexusId, tag, attribute, extent);
    if (attribute !== 'head-of-queue' && this.#size > 0 && this.#mayWait(attribute, extent)) {
      let waitFor: Promise<void>[] | undefined;
      for (let e = this.#oldest; e !== undefined; e = e.newer) {
        if (attribute === 'ordered' || e.attribute === 'ordered') (waitFor ??= []).push(e.finished);
        else if (extent !== undefined && e.extent !== undefined && (extent.write || e.extent.write) && overlaps(extent, e.extent)) {
          (waitFor ??= []).push(e.finished);
        }
      }
      entry.waitFor = waitFor;
    }
    this.#link(entry);
    return entry;
  }

  /** Whether any entry could be one this task waits for (else the walk finds nothing). */
  #mayWait(attribute: TaskAttribute, extent: BlockExtent | undefined): boolean {
    if (attribute === 'ordered' || this.#ordered > 0) return true;
    if (extent === undefined) return false;
    return extent.write ? this.#extents > 0 : this.#writes > 0;
  }

  #link(e: Entry): void {
    const newest = this.#newest;
    e.older = newest;
    if (newest === undefined) this.#oldest = e;
    else newest.newer = e;
    this.#newest = e;
    e.owner = this;
    this.#size++;
    if (e.attribute === 'ordered') this.#ordered++;
    if (e.extent !== undefined) {
      this.#extents++;
      if (e.extent.write) this.#writes++;
    }
  }

  leave(entry: TaskEntry): void {
    const e = entry as Entry;
    if (e.owner !== this) return;
    const { older, newer } = e;
    if (older === undefined) this.#oldest = newer;
    else older.newer = newer;
    if (newer === undefined) this.#newest = older;
    else newer.older = older;
    e.older = undefined;
    e.newer = undefined;
    e.owner = undefined;
    this.#size--;
    if (e.attribute === 'ordered') this.#ordered--;
    if (e.extent !== undefined) {
      this.#extents--;
      if (e.extent.write) this.#writes--;
    }
    e.settle();
  }

  find(nexusId: string, tag: number): TaskEntry | undefined {
    for (let e = this.#oldest; e !== undefined; e = e.newer) if (e.nexusId === nexusId && e.tag === tag) return e;
    return undefined;
  }

  /** Matching entries, oldest first. */
  select(predicate: (e: TaskEntry) => boolean): TaskEntry[] {
    const out: TaskEntry[] = [];
    for (let e = this.#oldest; e !== undefined; e = e.newer) if (predicate(e)) out.push(e);
    return out;
  }

  /** Abort the given tasks and resolve once each has really finished. */
  static async abortAll(entries: readonly TaskEntry[]): Promise<void> {
    for (const e of entries) (e as Entry).abort();
    await Promise.all(entries.map((e) => e.finished));
  }
}
