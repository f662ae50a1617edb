// Adaptive busy polling of the event loop, after KVM's halt polling
// (virt/kvm/kvm_main.c, halt_poll_ns grow/shrink).
//
// At queue depth 1 an initiator sends its next command a few tens of µs after
// our response; if the event loop has gone to sleep in epoll_wait by then,
// the wake-up costs about half a loopback round trip on a VM (measured 67 µs
// ping-pong: two wake-ups). Keeping the loop turning (setImmediate makes libuv
// poll with a zero timeout) for a short window after each read catches that
// command without the wake-up: 4 KiB QD1 reads measured 84 → 42 µs.
//
// The window adapts, as halt polling does: a read within `maxMicros` of the
// previous one, caught by polling or not, grows it (×2 from GROW_START, up to
// `maxMicros`); a gap longer than `maxMicros` means polling would have been
// wasted (shrink ÷2, to 0 below GROW_START).
// Steady request/response traffic converges to the full window; sparse
// traffic to none, so an idle or lightly loaded target does not spin.

/** First non-zero window, µs. */
export const GROW_START = 10;

export interface BusyPollClock {
  /** Milliseconds, monotonic (performance.now). */
  now(): number;
  /** Run `fn` on the next loop iteration without letting the loop sleep (setImmediate). */
  immediate(fn: () => void): void;
}

const REAL_CLOCK: BusyPollClock = {
  now: () => performance.now(),
  immediate: (fn) => void setImmediate(fn),
};

export class BusyPoll {
  /** Current window, µs. */
  #window = 0;
  #last = Number.NEGATIVE_INFINITY;
  #until = 0;
  #spinning = false;
  readonly #clock: BusyPollClock;

  constructor(
    /** Largest window, µs; 0 disables polling. */
    readonly maxMicros: number,
    clock: BusyPollClock = REAL_CLOCK,
  ) {
    if (!Number.isFinite(maxMicros) || maxMicros < 0) throw new RangeError(`busy poll window must be ≥ 0 µs, got ${maxMicros}`);
    this.#clock = clock;
  }

  /** The window in force now, µs (for tests and stats). */
  get windowMicros(): number {
    return this.#window;
  }

  get spinning(): boolean {
    return this.#spinning;
  }

  /** Data arrived on some connection. */
  activity(): void {
    const max = this.maxMicros;
    if (max === 0) return;
    const clock = this.#clock;
    const now = clock.now();
    // Caught while polling, or slept but a longer window would have caught it: grow.
    // (Halt polling keeps the window on a hit; growing it then too leaves room for jitter.)
    if ((now - this.#last) * 1000 <= max) {
      this.#window = this.#window === 0 ? Math.min(GROW_START, max) : Math.min(max, this.#window * 2);
    } else if (this.#window > 0) {
      this.#window = this.#window / 2 < GROW_START ? 0 : this.#window / 2;
    }
    this.#last = now;
    if (this.#window === 0) return;
    this.#until = now + this.#window / 1000;
    if (!this.#spinning) {
      this.#spinning = true;
      clock.immediate(this.#spin);
    }
  }

  readonly #spin = (): void => {
    if (this.#clock.now() < this.#until) this.#clock.immediate(this.#spin);
    else this.#spinning = false;
  };
}
