// Mode pages of a direct-access LU (SPC-4 §7.5, SBC-3 §6.4) and the per-LU
// mode parameter state. Pages are produced as bytes for MODE SENSE and
// compared byte-wise against the changeable mask for MODE SELECT.

export interface ModeState {
  /** Control page D_SENSE: descriptor-format sense data. */
  dSense: boolean;
  /** Control page SWP: software write protect. */
  swp: boolean;
}

export function defaultModeState(): ModeState {
  return { dSense: false, swp: false };
}

export enum PageControl {
  Current = 0,
  Changeable = 1,
  Default = 2,
  Saved = 3,
}

export interface ModePageInputs {
  readonly writeCache: boolean;
  readonly state: ModeState;
}

export const PAGE_RW_ERROR_RECOVERY = 0x01;
export const PAGE_CACHING = 0x08;
export const PAGE_CONTROL = 0x0a;
export const PAGE_INFORMATIONAL_EXCEPTIONS = 0x1c;
export const PAGE_ALL = 0x3f;

/** Supported pages in ascending page-code order (the order of the all-pages response). */
export const SUPPORTED_PAGES: readonly number[] = [PAGE_RW_ERROR_RECOVERY, PAGE_CACHING, PAGE_CONTROL, PAGE_INFORMATIONAL_EXCEPTIONS];

function page(code: number, length: number): Buffer {
  const b = Buffer.alloc(2 + length);
  b[0] = code;
  b[1] = length;
  return b;
}

/** Read-Write Error Recovery (SBC-3 §6.4.8): AWRE/ARRE reported as set, nothing changeable. */
function rwErrorRecovery(pc: PageControl): Buffer {
  const b = page(PAGE_RW_ERROR_RECOVERY, 0x0a);
  if (pc !== PageControl.Changeable) b[2] = 0xc0;
  return b;
}

/** Caching (SBC-3 §6.4.5): WCE mirrors the backstore's volatile cache; not changeable. */
function caching(pc: PageControl, inputs: ModePageInputs): Buffer {
  const b = page(PAGE_CACHING, 0x12);
  if (pc !== PageControl.Changeable && inputs.writeCache) b[2] |= 0x04;
  return b;
}

/**
 * Control (SPC-4 §7.5.7). TST 000b (one task set), QUEUE ALGORITHM MODIFIER 1
 * (unrestricted reordering of simple tasks), QERR 00b, TAS 0. D_SENSE and
 * SWP are changeable.
 */
function control(pc: PageControl, inputs: ModePageInputs): Buffer {
  const b = page(PAGE_CONTROL, 0x0a);
  if (pc === PageControl.Changeable) {
    b[2] = 0x04; // D_SENSE
    b[4] = 0x08; // SWP
    return b;
  }
  const state = pc === PageControl.Current ? inputs.state : defaultModeState();
  if (state.dSense) b[2] |= 0x04;
  b[3] = 0x10; // QUEUE ALGORITHM MODIFIER = 1
  if (state.swp) b[4] |= 0x08;
  b.writeUInt16BE(0xffff, 8); // BUSY TIMEOUT PERIOD: unlimited
  return b;
}

/** Informational Exceptions Control (SPC-4 §7.5.13): MRIE 0, nothing reported or changeable. */
function informationalExceptions(pc: PageControl): Buffer {
  const b = page(PAGE_INFORMATIONAL_EXCEPTIONS, 0x0a);
  if (pc !== PageControl.Changeable) b[2] = 0x00;
  return b;
}

export function modePage(code: number, pc: PageControl, inputs: ModePageInputs): Buffer | undefined {
  switch (code) {
    case PAGE_RW_ERROR_RECOVERY:
      return rwErrorRecovery(pc);
    case PAGE_CACHING:
      return caching(pc, inputs);
    case PAGE_CONTROL:
      return control(pc, inputs);
    case PAGE_INFORMATIONAL_EXCEPTIONS:
      return informationalExceptions(pc);
    default:
      return undefined;
  }
}

/** Apply the changeable bits of a validated page to the state. */
export function applyModePage(code: number, bytes: Buffer, state: ModeState): ModeState {
  if (code === PAGE_CONTROL) return { dSense: (bytes[2] & 0x04) !== 0, swp: (bytes[4] & 0x08) !== 0 };
  return state;
}
