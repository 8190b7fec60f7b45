import { CoordinationError, PIECE_STATE_CODE, PIECE_STATES, type PieceRecord, type PieceState } from "@shoal/coordination";

/** Bytes per piece in the attempts string: BITFIELD u32. */
export const ATTEMPT_BYTES = 4;

const STATE_OF_CODE: readonly (PieceState | undefined)[] = (() => {
  const out: (PieceState | undefined)[] = [];
  for (const state of PIECE_STATES) out[PIECE_STATE_CODE[state]] = state;
  return out;
})();

/** The state a code of the states string stands for; anything else is a table the scripts did not write. */
export function stateOfCode(code: number, infoHash: string, piece: number): PieceState {
  const state = STATE_OF_CODE[code];
  if (state === undefined) {
    throw new CoordinationError("INVARIANT_BROKEN", `piece ${piece} of torrent ${infoHash} has unknown state code ${code}`, {
      context: { infoHash, piece, code },
    });
  }
  return state;
}

/** One record, shaped as the memory table shapes it: `holder` only while claimed. */
export function pieceRecord(state: PieceState, attempt: number, holder: string | undefined): PieceRecord {
  return holder === undefined ? { state, attempt } : { state, attempt, holder };
}

/** Every record from the states string, the attempts string (zeros past its end) and the holders' flat list. */
export function decodePieces(infoHash: string, states: Buffer, attempts: Buffer | null, holders: readonly Buffer[]): PieceRecord[] {
  const holderOf = new Map<number, string>();
  for (let j = 0; j + 1 < holders.length; j += 2) holderOf.set(Number(holders[j]!.toString()), holders[j + 1]!.toString());
  const out: PieceRecord[] = new Array<PieceRecord>(states.length);
  for (let i = 0; i < states.length; i++) {
    const at = i * ATTEMPT_BYTES;
    const attempt = attempts !== null && at + ATTEMPT_BYTES <= attempts.length ? attempts.readUInt32BE(at) : 0;
    out[i] = pieceRecord(stateOfCode(states[i]!, infoHash, i), attempt, holderOf.get(i));
  }
  return out;
}
