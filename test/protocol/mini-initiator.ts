// A deliberately small iSCSI initiator for protocol tests over TCP loopback.
// It speaks through tsgt's own PDU layer but decides everything else itself
// (sequence numbers, login keys, CHAP answers), so tests can also send what a
// correct initiator never would.

import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { PduFramer, type ReceivedFrame } from '../../src/pdu/framer.js';
import { serializeFrame } from '../../src/pdu/wire.js';
import { decodePdu } from '../../src/pdu/decode.js';
import { encodePdu } from '../../src/pdu/encode.js';
import { encodeTextParameters, parseTextParameters } from '../../src/pdu/text-keys.js';
import { Opcode, RESERVED_TAG, TaskAttribute, type Frame, type LoginResponse, type Pdu, type TargetPdu } from '../../src/pdu/types.js';

export interface LoginOptions {
  initiatorName?: string;
  targetName?: string;
  sessionType?: 'Normal' | 'Discovery';
  isid?: Buffer;
  keys?: Record<string, string>;
  chap?: { user: string; secret: string; mutual?: { user: string; secret: string } };
}

export interface Negotiated {
  headerDigest: boolean;
  dataDigest: boolean;
  keys: Map<string, string>;
}

const LUN0 = Buffer.alloc(8);

export class MiniInitiator {
  readonly socket: Socket;
  readonly framer: PduFramer;
  readonly inbox: TargetPdu[] = [];
  #waiters: Array<() => void> = [];
  closed = false;
  digests = { header: false, data: false };
  cmdSn = 1;
  expStatSn = 0;
  itt = 1;
  tsih = 0;
  rawFrames: ReceivedFrame[] = [];
  fatal: string | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.framer = new PduFramer(
      { maxDataSegmentLength: 16 * 1024 * 1024, headerDigest: false, dataDigest: false },
      (f) => {
        this.rawFrames.push(f);
        const d = decodePdu(f);
        if (d.ok) {
          this.inbox.push(d.pdu as TargetPdu);
          const st = (d.pdu as { statSn?: number }).statSn;
          if (st !== undefined && d.pdu.opcode !== Opcode.DataIn && d.pdu.opcode !== Opcode.ReadyToTransfer) this.expStatSn = (st + 1) >>> 0;
          if (d.pdu.opcode === Opcode.DataIn && d.pdu.statusPresent) this.expStatSn = (d.pdu.statSn + 1) >>> 0;
        }
        this.#wake();
      },
      (e) => {
        this.fatal = e.reason;
        this.#wake();
      },
    );
    socket.on('data', (c: Buffer) => this.framer.push(c));
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<MiniInitiator> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => resolve(new MiniInitiator(s)));
      s.once('error', reject);
    });
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  send(pdu: Pdu): void {
    this.sendFrame(encodePdu(pdu));
  }

  sendFrame(frame: Frame): void {
    for (const b of serializeFrame(frame, this.digests)) this.socket.write(b);
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Next PDU matching `pred`, removed from the inbox. */
  async next<T extends TargetPdu = TargetPdu>(pred: (p: TargetPdu) => boolean = () => true, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as T;
      if (this.closed) throw new Error(`connection closed while waiting${this.fatal ? `: ${this.fatal}` : ''}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a PDU');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Resolves true if nothing matching arrives within ms. */
  async quiet(ms: number, pred: (p: TargetPdu) => boolean = () => true): Promise<boolean> {
    try {
      await this.next(pred, ms);
      return false;
    } catch {
      return true;
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  /** One login PDU exchange. */
  async loginStep(csg: number, nsg: number, transit: boolean, pairs: Array<[string, string]>, isid: Buffer, itt: number): Promise<LoginResponse> {
    this.send({
      opcode: Opcode.LoginRequest,
      transit,
      continue: false,
      csg,
      nsg,
      versionMax: 0,
      versionMin: 0,
      isid,
      tsih: this.tsih,
      itt,
      cid: 1,
      cmdSn: this.cmdSn,
      expStatSn: this.expStatSn,
      data: encodeTextParameters(pairs),
    });
    return this.next<LoginResponse>((p) => p.opcode === Opcode.LoginResponse);
  }

  /** Full login; returns the final response and the negotiated keys. Throws on a login failure status. */
  async login(o: LoginOptions = {}): Promise<{ response: LoginResponse; negotiated: Negotiated }> {
    const isid = o.isid ?? Buffer.from([0x80, 0, 0, 0x12, 0x34, 0x56]);
    const itt = this.itt++;
    const keys = new Map<string, string>();
    const collect = (r: LoginResponse) => {
      const parsed = parseTextParameters(r.data);
      if (parsed.ok) for (const [k, v] of parsed.pairs) keys.set(k, v);
    };
    const first: Array<[string, string]> = [
      ['InitiatorName', o.initiatorName ?? 'iqn.2025-01.org.tsgt:mini'],
      ['SessionType', o.sessionType ?? 'Normal'],
    ];
    if ((o.sessionType ?? 'Normal') === 'Normal') first.push(['TargetName', o.targetName ?? '']);
    let r: LoginResponse;
    if (o.chap) {
      r = await this.loginStep(0, 1, false, [...first, ['AuthMethod', 'CHAP']], isid, itt);
      if (r.statusClass !== 0) return fail(r);
      r = await this.loginStep(0, 1, false, [['CHAP_A', '5']], isid, itt);
      if (r.statusClass !== 0) return fail(r);
      collect(r);
      const id = Number(keys.get('CHAP_I'));
      const challenge = Buffer.from(keys.get('CHAP_C')!.slice(2), 'hex');
      const resp = createHash('md5').update(Buffer.from([id])).update(o.chap.secret).update(challenge).digest();
      const pairs: Array<[string, string]> = [
        ['CHAP_N', o.chap.user],
        ['CHAP_R', `0x${resp.toString('hex')}`],
      ];
      const myChallenge = Buffer.alloc(16, 0x5a);
      if (o.chap.mutual) pairs.push(['CHAP_I', '77'], ['CHAP_C', `0x${myChallenge.toString('hex')}`]);
      r = await this.loginStep(0, 1, true, pairs, isid, itt);
      if (r.statusClass !== 0) return fail(r);
      collect(r);
      if (o.chap.mutual) {
        const expect = createHash('md5').update(Buffer.from([77])).update(o.chap.mutual.secret).update(myChallenge).digest();
        if (keys.get('CHAP_R')?.toLowerCase() !== `0x${expect.toString('hex')}`) throw new Error('target failed mutual CHAP');
      }
      this.tsih = r.tsih;
    }
    const op: Array<[string, string]> = o.chap ? [] : [...first, ...(o.chap ? [] : [])];
    for (const [k, v] of Object.entries(o.keys ?? {})) op.push([k, v]);
    r = await this.loginStep(1, 3, true, op, isid, itt);
    if (r.statusClass !== 0) return fail(r);
    collect(r);
    this.tsih = r.tsih;
    this.cmdSn = r.expCmdSn;
    const negotiated: Negotiated = {
      headerDigest: keys.get('HeaderDigest') === 'CRC32C',
      dataDigest: keys.get('DataDigest') === 'CRC32C',
      keys,
    };
    // Digests start with the first PDU after the final login response.
    this.digests = { header: negotiated.headerDigest, data: negotiated.dataDigest };
    this.framer.limits = { ...this.framer.limits, headerDigest: negotiated.headerDigest, dataDigest: negotiated.dataDigest };
    return { response: r, negotiated };
  }

  /** Send a SCSI command; returns its ITT. */
  command(cdb: Buffer, o: { read?: number; write?: Buffer; immediate?: Buffer; final?: boolean; lun?: Buffer; immediateFlag?: boolean; cmdSn?: number } = {}): number {
    const itt = this.itt++;
    const c = Buffer.alloc(16);
    cdb.copy(c);
    const edtl = o.read ?? o.write?.length ?? 0;
    this.send({
      opcode: Opcode.ScsiCommand,
      immediate: o.immediateFlag ?? false,
      final: o.final ?? true,
      read: o.read !== undefined,
      write: o.write !== undefined,
      attribute: TaskAttribute.Simple,
      lun: o.lun ?? LUN0,
      itt,
      expectedDataTransferLength: edtl,
      cmdSn: o.cmdSn ?? this.cmdSn,
      expStatSn: this.expStatSn,
      cdb: c,
      data: o.immediate ?? Buffer.alloc(0),
    });
    if (o.cmdSn === undefined && !o.immediateFlag) this.cmdSn = (this.cmdSn + 1) >>> 0;
    return itt;
  }

  /** Collect Data-In and the status of `itt`; answers R2Ts from `writeData`. */
  async complete(itt: number, writeData?: Buffer, timeoutMs = 5000): Promise<{ status: number; data: Buffer; sense: Buffer; residual: number; underflow: boolean; overflow: boolean; dataIns: number }> {
    const chunks: Buffer[] = [];
    let dataIns = 0;
    for (;;) {
      const p = await this.next((x) => (x as { itt?: number }).itt === itt, timeoutMs);
      if (p.opcode === Opcode.ReadyToTransfer) {
        if (!writeData) throw new Error('unexpected R2T');
        this.sendDataOut(itt, p.ttt, writeData.subarray(p.bufferOffset, p.bufferOffset + p.desiredLength), p.bufferOffset, 8192);
        continue;
      }
      if (p.opcode === Opcode.DataIn) {
        dataIns++;
        chunks.push(Buffer.from(p.data));
        if (p.statusPresent) {
          return { status: p.status, data: Buffer.concat(chunks), sense: Buffer.alloc(0), residual: p.residualCount, underflow: p.underflow, overflow: p.overflow, dataIns };
        }
        continue;
      }
      if (p.opcode === Opcode.ScsiResponse) {
        return { status: p.status, data: Buffer.concat(chunks), sense: p.sense, residual: p.residualCount, underflow: p.underflow, overflow: p.overflow, dataIns };
      }
      throw new Error(`unexpected PDU 0x${p.opcode.toString(16)} for ITT ${itt}`);
    }
  }

  /** Send `data` as Data-Out PDUs of at most `segment` bytes starting at `offset`. */
  sendDataOut(itt: number, ttt: number, data: Buffer, offset: number, segment: number): void {
    let sn = 0;
    for (let o = 0; o < data.length; o += segment) {
      const part = data.subarray(o, Math.min(data.length, o + segment));
      this.send({
        opcode: Opcode.DataOut,
        final: o + part.length >= data.length,
        lun: LUN0,
        itt,
        ttt,
        expStatSn: this.expStatSn,
        dataSn: sn++,
        bufferOffset: offset + o,
        data: part,
      });
    }
  }

  async logout(): Promise<number> {
    const itt = this.itt++;
    this.send({ opcode: Opcode.LogoutRequest, immediate: true, reason: 0, itt, cid: 1, cmdSn: this.cmdSn, expStatSn: this.expStatSn });
    const r = await this.next((p) => p.opcode === Opcode.LogoutResponse);
    return (r as { response: number }).response;
  }

  close(): void {
    this.socket.destroy();
  }
}

function fail(r: LoginResponse): never {
  const e = new Error(`login failed ${r.statusClass}/${r.statusDetail}`) as Error & { response: LoginResponse };
  e.response = r;
  throw e;
}

export function read10(lba: number, blocks: number): Buffer {
  const c = Buffer.alloc(10);
  c[0] = 0x28;
  c.writeUInt32BE(lba, 2);
  c.writeUInt16BE(blocks, 7);
  return c;
}

export function write10(lba: number, blocks: number): Buffer {
  const c = Buffer.alloc(10);
  c[0] = 0x2a;
  c.writeUInt32BE(lba, 2);
  c.writeUInt16BE(blocks, 7);
  return c;
}

export function inquiry(alloc = 255): Buffer {
  return Buffer.from([0x12, 0, 0, 0, alloc, 0]);
}

export { RESERVED_TAG, LUN0 };
