// Apart from the other cluster settings: the peer-worker's module, which the policies come from,
// loads the whole service, and `shoal submit`, `status` and `cancel` read those settings.
import { ENCRYPTION_POLICIES, type EncryptionPolicy } from "@shoal/peer-worker";
import { ConfigError } from "@shoal/service-kit";
import { valueOf } from "./cluster-settings.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The encryption policy of the peer-worker and the tracker-poller (its metadata connections)
 * from `--encryption` or SHOAL_ENCRYPTION (one name for `shoal get` and the services alike);
 * undefined when neither is set (the schema's default holds).
 */
export function encryptionFrom(flag: string | undefined, env: Env): EncryptionPolicy | undefined {
  const got = valueOf(flag, "--encryption", env, "SHOAL_ENCRYPTION");
  if (!got) return undefined;
  const [where, raw] = got;
  if (!(ENCRYPTION_POLICIES as readonly string[]).includes(raw)) {
    throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" is not an encryption policy (one of ${ENCRYPTION_POLICIES.join(", ")})`);
  }
  return raw as EncryptionPolicy;
}
