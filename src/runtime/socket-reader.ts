// Reads a TCP stream into buffers we choose (net.Socket `onread`), so that
//  - the bulk of a large Data-Out / immediate-data segment is read by the
//    kernel straight into the buffer the backstore will write from (no copy,
//    no 64 KiB chunk allocated per read), and
//  - everything else is read into one reused buffer, from which the framer
//    copies what it keeps (PduFramer.push transient): the BHS into a small
//    buffer, data segments into pooled ones that WRITE hands back. Reading
//    into fresh memory instead (a never-rewritten slab, so frames could be
//    views of it) made every received byte new external memory for V8:
//    ~335 MB/s at 80k 4 KiB writes/s, which started a mark-compact every
//    ~150 ms; with the reused buffer 4 KiB QD32 writes measured 28-37 → 4-5
//    mark-compacts per 4 s, +7 % IOPS, -9 % CPU per I/O, for one 4 KiB
//    memcpy per write.
//
// Node offers `onread` only to sockets it creates, not to ones a server
// accepts; `adoptSocket` moves an accepted (still paused) socket's handle into
// a new Socket that has it. That touches `Socket._handle`, which Node has kept
// for a decade but does not document: if it is missing, callers fall back to
// 'data' events.

import { Socket } from 'node:net';
import type { PduFramer } from '../pdu/framer.js';
import type { BusyPoll } from './busy-poll.js';

/** Largest read into the reused buffer. */
const READ_MAX = 64 * 1024;
/**
 * Right after a large segment, another one usually follows (the next Data-Out
 * of a burst): read only its header and a little data, so the bulk goes
 * direct instead of being copied out of a 64 KiB read.
 */
const READ_AFTER_DIRECT = 4 * 1024;

export class SocketReader {
  framer: PduFramer | undefined;
  /** Told of every read, to keep the event loop polling while traffic is steady. */
  busyPoll: BusyPoll | undefined;
  /** Every non-direct read lands here; nothing refers to it once `read` returns. */
  readonly #buffer = Buffer.allocUnsafeSlow(READ_MAX);
  readonly #afterDirectBuffer = this.#buffer.subarray(0, READ_AFTER_DIRECT);
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
    return this.#afterDirect ? this.#afterDirectBuffer : this.#buffer;
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
    framer.push(buf.subarray(0, n), true);
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
