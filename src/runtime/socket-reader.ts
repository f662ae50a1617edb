// Reads a TCP stream into buffers we choose (net.Socket `onread`), so that
//  - the bulk of a large Data-Out / immediate-data segment is read by the
//    kernel straight into the buffer the backstore will write from (no copy,
//    no 64 KiB chunk allocated per read), and
//  - everything else is read into the free tail of a shared slab, whose
//    bytes are never rewritten, so the framer's zero-copy views stay valid.
//
// Node offers `onread` only to sockets it creates, not to ones a server
// accepts; `adoptSocket` moves an accepted (still paused) socket's handle into
// a new Socket that has it. That touches `Socket._handle`, which Node has kept
// for a decade but does not document: if it is missing, callers fall back to
// 'data' events.

import { Socket } from 'node:net';
import type { PduFramer } from '../pdu/framer.js';
import type { BusyPoll } from './busy-poll.js';

/** A slab is replaced once less than this is left; reads get at most READ_MAX. */
const SLAB_SIZE = 256 * 1024;
const READ_MIN = 16 * 1024;
const READ_MAX = 64 * 1024;
/**
 * Right after a large segment, another one usually follows (the next Data-Out
 * of a burst): read only its header and a little data into the slab, so the
 * bulk goes direct instead of being copied out of a 64 KiB slab read.
 */
const READ_AFTER_DIRECT = 4 * 1024;

export class SocketReader {
  framer: PduFramer | undefined;
  /** Told of every read, to keep the event loop polling while traffic is steady. */
  busyPoll: BusyPoll | undefined;
  #slab = Buffer.allocUnsafe(SLAB_SIZE);
  #used = 0;
  #direct = false;
  #afterDirect = false;

  /** The buffer the next read lands in (Node calls this after every read). */
  next(): Buffer {
    const direct = this.framer?.directTarget();
    if (direct) {
      this.#direct = true;
      return direct;
    }
    this.#direct = false;
    if (this.#slab.length - this.#used < READ_MIN) {
      this.#slab = Buffer.allocUnsafe(SLAB_SIZE);
      this.#used = 0;
    }
    const max = this.#afterDirect ? READ_AFTER_DIRECT : READ_MAX;
    return this.#slab.subarray(this.#used, Math.min(this.#used + max, this.#slab.length));
  }

  /** `n` bytes arrived in `buf` (the last buffer `next` returned). */
  read(n: number, buf: Buffer): void {
    const framer = this.framer;
    if (!framer) return;
    this.busyPoll?.activity();
    if (this.#direct) {
      this.#direct = false;
      this.#afterDirect = true;
      framer.pushDirect(n);
      return;
    }
    this.#afterDirect = false;
    this.#used += n;
    framer.push(buf.subarray(0, n));
  }
}

interface HandleOwner {
  _handle?: unknown;
}

/**
 * Re-home an accepted socket (created with pauseOnConnect) into a Socket that
 * reads through `reader`. Returns undefined, leaving `accepted` untouched,
 * when this Node does not expose the handle. `accepted` stays registered with
 * its server (connection count, maxConnections, close()) and is destroyed
 * when the new socket closes.
 */
export function adoptSocket(accepted: Socket, reader: SocketReader): Socket | undefined {
  const owner = accepted as unknown as HandleOwner;
  const handle = owner._handle;
  if (handle === null || typeof handle !== 'object' || accepted.readableFlowing === true) return undefined;
  owner._handle = null;
  let socket: Socket;
  try {
    socket = new Socket({
      handle: handle as never,
      readable: true,
      writable: true,
      onread: { buffer: () => reader.next(), callback: (n: number, buf: Uint8Array) => reader.read(n, buf as Buffer) },
    } as ConstructorParameters<typeof Socket>[0]);
  } catch {
    owner._handle = handle;
    return undefined;
  }
  socket.once('close', () => accepted.destroy());
  return socket;
}
