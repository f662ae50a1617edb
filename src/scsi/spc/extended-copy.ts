// EXTENDED COPY (LID1), opcode 83h service action 00h (SPC-4 §6.4): the copy
// manager of the LU that receives the command copies blocks between LUs this
// nexus can see, inside the target.

import { good } from '../cdb.js';
import { defineCommand, type AnyCommandSpec, type CommandContext, type CommandOutcome } from '../command.js';
import { failure, SenseReason, type SenseFailure } from '../sense.js';
import { runSegments } from '../xcopy/block-copy.js';
import { beginCopy, finishCopy, type CopyManager } from '../xcopy/copy-manager.js';
import {
  checkCondition,
  CopySense,
  parameterListFailure,
  renderParameterListFailure,
  renderSegmentFailure,
} from '../xcopy/copy-sense.js';
import { COPY_LIMITS, PARAMETER_LIST_HEADER_LENGTH, type CopyLimits } from '../xcopy/limits.js';
import { parseCopyParameterList } from '../xcopy/parameter-list.js';

export const EXTENDED_COPY = 0x83;
export const SA_EXTENDED_COPY_LID1 = 0x00;

export interface ExtendedCopyParams {
  readonly parameterListLength: number;
}

export function parseExtendedCopy(cdb: Buffer, limits: CopyLimits = COPY_LIMITS): ExtendedCopyParams | SenseFailure {
  const parameterListLength = cdb.readUInt32BE(10);
  // Refuse before transfer a list longer than any we accept (and than we are willing to buffer).
  if (parameterListLength > PARAMETER_LIST_HEADER_LENGTH + limits.maxDescriptorListLength + limits.maxInlineDataLength) {
    return failure(SenseReason.ParameterListLengthError);
  }
  return { parameterListLength };
}

async function extendedCopy(p: ExtendedCopyParams, ctx: CommandContext, manager: CopyManager, limits: CopyLimits): Promise<CommandOutcome> {
  // SPC-4 §6.4: a PARAMETER LIST LENGTH of zero is not an error; nothing is copied.
  if (p.parameterListLength === 0) return good();
  const descriptor = ctx.unit.mode.dSense;
  const data = Buffer.concat(ctx.dataOut).subarray(0, ctx.dataOutLength);
  const list = parseCopyParameterList(data, limits);
  if ('kind' in list) return checkCondition(renderParameterListFailure(list, descriptor));
  const record = beginCopy(manager, ctx.unit, ctx.nexus.id, list.header);
  if (record === 'in-progress') {
    return checkCondition(renderParameterListFailure(parameterListFailure(CopySense.OperationInProgress, 0), descriptor));
  }
  let end: Awaited<ReturnType<typeof runSegments>>;
  try {
    end = await runSegments(list, { unit: ctx.unit, writeProtected: ctx.writeProtected, view: ctx.view, nexus: ctx.nexus, signal: ctx.signal, limits }, record);
  } catch (error) {
    finishCopy(manager, ctx.unit, ctx.nexus.id, record, 'aborted'); // the dispatcher turns the error into HARDWARE ERROR
    throw error;
  }
  if (end === 'aborted' || ctx.signal.aborted) {
    // An aborted EXTENDED COPY (ABORT TASK, LU reset) holds no results; the dispatcher reports the task as aborted.
    finishCopy(manager, ctx.unit, ctx.nexus.id, record, 'aborted');
    return good();
  }
  if (end === undefined) {
    finishCopy(manager, ctx.unit, ctx.nexus.id, record, {});
    return good();
  }
  const sense = renderSegmentFailure(end, descriptor);
  const result = checkCondition(sense);
  finishCopy(manager, ctx.unit, ctx.nexus.id, record, { failure: { status: result.status, sense } });
  return result;
}

export function extendedCopyCommand(manager: CopyManager, limits: CopyLimits = COPY_LIMITS): AnyCommandSpec {
  return defineCommand<ExtendedCopyParams>({
    name: 'EXTENDED COPY(LID1)',
    opcode: EXTENDED_COPY,
    serviceAction: SA_EXTENDED_COPY_LID1,
    cdbLength: 16,
    usage: [EXTENDED_COPY, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
    // Write protection and reservations are judged per copy target while processing (block-copy.ts).
    modifiesMedium: false,
    allowedUnderReservation: false,
    timeouts: { nominal: 0, recommended: 120 },
    parse: (cdb) => parseExtendedCopy(cdb, limits),
    dataOutLength: (p) => p.parameterListLength,
    execute: (p, ctx) => extendedCopy(p, ctx, manager, limits),
  });
}
