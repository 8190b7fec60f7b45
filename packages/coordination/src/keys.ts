/**
 * Every Redis key of shoal, built here and nowhere else. All keys of one torrent share the hash
 * tag `{<infoHash>}` so a Redis Cluster keeps them in one slot and Lua scripts can touch them
 * together.
 */
export function torrentKeys(prefix: string, infoHash: string) {
  const base = `${prefix}:t:{${infoHash}}`;
  return {
    /** String of one byte per piece: its PIECE_STATE_CODE. */
    states: `${base}:states`,
    /** Hash piece -> attempt number. */
    attempts: `${base}:attempts`,
    /** Hash piece -> holder workerId, while claimed. */
    holders: `${base}:holders`,
    /** Hash peer -> strikes. */
    strikes: `${base}:strikes`,
    /** Set of banned peers. */
    banned: `${base}:banned`,
    /** Hash: the catalog record. */
    meta: `${base}:meta`,
  } as const;
}

/** A worker's liveness lease (expires unless refreshed) and the set of torrents it holds claims in. */
export function workerKeys(prefix: string, workerId: string) {
  return {
    lease: `${prefix}:w:${workerId}:lease`,
    torrents: `${prefix}:w:${workerId}:torrents`,
  } as const;
}
