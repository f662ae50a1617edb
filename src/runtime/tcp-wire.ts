// The socket side of a connection: PDU framing in, corked iovec writes out.
// Everything protocol-related lives in src/iscsi (sans-IO).

import type { Socket } from 'node:net';
import { PduFramer, type ReceivedFrame } from '../pdu/framer.js';
import { serializeFrame } from '../pdu/wire.js';
import type { Frame } from '../pdu/types.js';
import type { Wire } from '../iscsi/connection.js';
import { adoptSocket, SocketReader } from './socket-reader.js';
import type { SegmentPool } from './segment-pool.js';
import type { BusyPoll } from './busy-poll.js';

/** Stop reading from a peer whose responses pile up unread (bounded memory). */
const HIGH_WATER = 32 * 1024 * 1024;

export class TcpWire implements Wire {
  readonly framer: PduFramer;
  #digests = { header: false, data: false };
  #corked = false;
  #closing = false;
  #paused = false;

  /**
   * A wire for a socket a server accepted with pauseOnConnect: reads go
   * through a SocketReader (large segments land in place) when the socket can
   * be adopted, through 'data' events otherwise.
   */
  static accept(
    accepted: Socket,
    onFrame: (f: ReceivedFrame) => void,
    onFatal: (reason: string) => void,
    pool?: SegmentPool,
    busyPoll?: BusyPoll,
  ): TcpWire {
    const reader = new SocketReader();
    const socket = adoptSocket(accepted, reader);
    if (!socket) {
      const wire = new TcpWire(accepted, onFrame, onFatal, { pool, busyPoll });
      accepted.resume();
      return wire;
    }
    const wire = new TcpWire(socket, onFrame, onFatal, { reader, pool, busyPoll });
    socket.resume();
    return wire;
  }

  readonly #pool: SegmentPool | undefined;

  constructor(
    readonly socket: Socket,
    onFrame: (f: ReceivedFrame) => void,
    onFatal: (reason: string) => void,
    options: { reader?: SocketReader; pool?: SegmentPool; busyPoll?: BusyPoll } = {},
  ) {
    const pool = options.pool;
    this.#pool = pool;
    this.framer = new PduFramer(
      { maxDataSegmentLength: 8192, headerDigest: false, dataDigest: false },
      onFrame,
      (e) => onFatal(e.reason),
      pool ? (n) => pool.allocate(n) : undefined,
    );
    const reader = options.reader;
    socket.setNoDelay(true);
    const busyPoll = options.busyPoll;
    if (reader) {
      reader.framer = this.framer;
      reader.busyPoll = busyPoll;
    } else {
      socket.on('data', (chunk: Buffer) => {
        busyPoll?.activity();
        this.framer.push(chunk);
      });
    }
    socket.on('drain', () => {
      if (this.#paused) {
        this.#paused = false;
        socket.resume();
      }
    });
  }

  configure(settings: { maxRecvDataSegmentLength: number; headerDigest: boolean; dataDigest: boolean }): void {
    this.framer.limits = {
      ...this.framer.limits,
      maxDataSegmentLength: settings.maxRecvDataSegmentLength,
      headerDigest: settings.headerDigest,
      dataDigest: settings.dataDigest,
    };
    this.#digests = { header: settings.headerDigest, data: settings.dataDigest };
  }

  send(frame: Frame, onSent?: () => void): void {
    const socket = this.socket;
    if (this.#closing || socket.destroyed) return;
    // Batch every PDU produced in this event-loop turn into one writev.
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    const parts = serializeFrame(frame, this.#digests);
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) socket.write(parts[i]);
    // Only a successful write hands the buffers over; after an error they are left to the GC.
    if (onSent) socket.write(parts[last], (err) => err || onSent());
    else socket.write(parts[last]);
    if (!this.#paused && socket.writableLength > HIGH_WATER) {
      this.#paused = true;
      socket.pause();
    }
  }

  release(buffers: readonly Buffer[]): void {
    this.#pool?.release(buffers);
  }

  allocate(length: number): Buffer | undefined {
    return this.#pool?.allocateDataIn(length);
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    const socket = this.socket;
    // Let the corked batch (e.g. a final Logout or Login Response) go out first.
    process.nextTick(() => {
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    });
  }
}
