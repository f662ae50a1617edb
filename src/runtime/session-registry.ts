// Live sessions of one target server: TSIH allocation and session
// reinstatement (RFC 7143 §6.3.5: a leading login with TSIH 0 and the ISID of a
// live session from the same initiator to the same target portal group
// replaces that session).

import type { IscsiConnection } from '../iscsi/connection.js';

export interface SessionRecord {
  readonly tsih: number;
  readonly key: string;
  readonly initiatorName: string;
  readonly isid: string;
  readonly targetName: string | undefined;
  readonly tpgt: number;
  readonly type: 'Normal' | 'Discovery';
  readonly connection: IscsiConnection;
  readonly started: Date;
}

export function sessionKey(initiatorName: string, isid: Buffer, targetName: string | undefined, tpgt: number): string {
  return `${initiatorName.toLowerCase()}|${isid.toString('hex')}|${targetName ?? ''}|${tpgt}`;
}

export class SessionRegistry {
  readonly #byTsih = new Map<number, SessionRecord>();
  readonly #byKey = new Map<string, SessionRecord>();
  #next = 1;

  /** The live session with this identity, if any (to be reinstated). */
  find(key: string): SessionRecord | undefined {
    return this.#byKey.get(key);
  }

  allocateTsih(): number | undefined {
    for (let i = 0; i < 0xffff; i++) {
      const t = this.#next;
      this.#next = this.#next >= 0xffff ? 1 : this.#next + 1;
      if (!this.#byTsih.has(t)) return t;
    }
    return undefined;
  }

  add(record: SessionRecord): void {
    this.#byTsih.set(record.tsih, record);
    this.#byKey.set(record.key, record);
  }

  remove(record: SessionRecord): void {
    if (this.#byTsih.get(record.tsih) === record) this.#byTsih.delete(record.tsih);
    if (this.#byKey.get(record.key) === record) this.#byKey.delete(record.key);
  }

  list(): SessionRecord[] {
    return [...this.#byTsih.values()];
  }
}
