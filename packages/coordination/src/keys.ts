/**
 * Every Redis key of shoal, built here and nowhere else. All keys of one torrent share the hash
 * tag `{<infoHash>}` so a Redis Cluster keeps them in one slot and Lua scripts can touch them
 * together. A worker's lease on a torrent and the pieces it holds there are keys of that torrent
 * too, so expiring a torrent's workers never leaves its slot.
 *
 * The prefix must not contain `{` or `}`: Redis takes the first `{...}` of a key as its hash tag,
 * so a brace in the prefix would move the torrent's keys to different slots.
 */
export function torrentKeys(prefix: string, infoHash: string) {
  const base = `${prefix}:t:{${infoHash}}`;
  return {
    /**
     * Hash state name -> number of pieces in that state, all six fields always present. Kept by
     * every script that moves a piece, so counts cost O(1); its existence is the torrent's.
     */
    counts: `${base}:counts`,
    /** String of one byte per piece: its PIECE_STATE_CODE. Its length is the piece count. */
    states: `${base}:states`,
    /** String of one unsigned 32-bit big-endian integer per piece: its attempt number (BITFIELD u32). */
    attempts: `${base}:attempts`,
    /** Hash piece -> holder workerId, while claimed. */
    holders: `${base}:holders`,
    /**
     * Prefix of the per-worker sets of held pieces: `held + workerId` is a set of the pieces that
     * worker holds claims on in this torrent, so expiring the worker costs only its claims. Scripts
     * append the workerId themselves (the holder of a piece is known only inside the script).
     */
    held: `${base}:held:`,
    /** Sorted set workerId -> when its lease on this torrent ends (ms); -inf for a worker that claimed without a heartbeat. */
    leases: `${base}:leases`,
    /** String: the id of the job that started the table (`startJob`); absent for `createTorrent`'s. */
    job: `${base}:job`,
    /** Hash peer -> strikes. */
    strikes: `${base}:strikes`,
    /** Set of banned peers. */
    banned: `${base}:banned`,
    /** Hash: the catalog record (raw info dict, announce tiers, destination, private flag). */
    catalog: `${base}:catalog`,
    /** Upload ledger: hash object key -> id of the multipart upload in progress for it. */
    uploads: `${base}:uploads`,
    /**
     * Upload ledger: prefix of the per-object hashes of uploaded parts, `parts + objectKey` (see
     * `partsKey`): part number -> the part's ETag and size. The uploads hash names every one of
     * them, so dropping a torrent's records needs no key scan.
     */
    parts: `${base}:parts:`,
    /** Upload ledger: set of object keys finished in the bucket from verified pieces. */
    completed: `${base}:completed`,
    /** Hash peer (ip:port) -> the worker that owns it (connects it, or is dialling it). */
    peerOwners: `${base}:peers:owners`,
    /** Set of the known peers nobody owns, at most MAX_FREE_PEERS: what a worker with room takes. */
    freePeers: `${base}:peers:free`,
    /**
     * Prefix of the per-worker sets of owned peers, as `held` is for pieces: `ownedPeers +
     * workerId` holds the peers that worker owns here, so expiring it costs only its peers.
     */
    ownedPeers: `${base}:peers:owned:`,
    /**
     * Set of the workers taking part in the peer registry (they claimed peers here): only their
     * leases count towards the fair share, not those of other lease holders (storage-writers).
     */
    peerWorkers: `${base}:peers:workers`,
    /**
     * Hash workerId -> that worker's availability vector: per piece, how many of its connected
     * peers have the piece, as unsigned 16-bit little-endian integers (two bytes per piece). Only
     * workers with a live lease count; the lease sweep drops the vectors of lapsed ones.
     */
    availability: `${base}:availability`,
  } as const;
}

/** The set of pieces `workerId` holds in a torrent; see `torrentKeys(...).held`. */
export function heldKey(prefix: string, infoHash: string, workerId: string): string {
  return `${torrentKeys(prefix, infoHash).held}${workerId}`;
}

/**
 * The hash of parts uploaded into the current multipart upload of one object key; see
 * `torrentKeys(...).parts`. Object keys may hold any character, braces included: the hash tag is
 * the first `{...}` of the key, which is the infoHash, so the key stays in the torrent's slot.
 */
export function partsKey(prefix: string, infoHash: string, objectKey: string): string {
  return `${torrentKeys(prefix, infoHash).parts}${objectKey}`;
}

/** The set of peers `workerId` owns in a torrent; see `torrentKeys(...).ownedPeers`. */
export function ownedPeersKey(prefix: string, infoHash: string, workerId: string): string {
  return `${torrentKeys(prefix, infoHash).ownedPeers}${workerId}`;
}

/**
 * The lock of a service that must run once per cluster (`storage-writer`): a string holding the
 * active instance's id, with an expiry its holder keeps renewing. Not a torrent's key: it has no
 * hash tag and is only ever touched alone.
 */
export function activeInstanceKey(prefix: string, service: string): string {
  return `${prefix}:active:${service}`;
}

/**
 * The cluster's live peer workers (`peerWorkerPresence`): a sorted set workerId -> when its
 * presence ends (ms, on the lease clock). Not a torrent's key: it has no hash tag, and the one
 * script that touches it touches nothing else.
 */
export function peerWorkerPresenceKey(prefix: string): string {
  return `${prefix}:presence:peer-workers`;
}
