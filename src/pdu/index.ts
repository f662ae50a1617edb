// Public surface of the PDU layer (RFC 7143 §11 wire codecs, framing, digests, text keys).

export * from './types.js';
export * from './bhs.js';
export * from './nop.js';
export * from './scsi-command.js';
export * from './scsi-response.js';
export * from './task-management.js';
export * from './login.js';
export * from './text.js';
export * from './data-out.js';
export * from './data-in.js';
export * from './logout.js';
export * from './r2t.js';
export * from './async-message.js';
export * from './reject.js';
export * from './snack.js';
export * from './decode.js';
export * from './encode.js';
export * from './digest.js';
export * from './framer.js';
export * from './wire.js';
export * from './text-keys.js';
export * from './lun.js';
