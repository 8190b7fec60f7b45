import { respCommand, type RespReply } from "@shoal/testkit";

/** Deletes every key under `prefix:` (a case's random prefix), so cases leave nothing behind. */
export async function deleteKeysUnder(url: string, prefix: string): Promise<void> {
  for (const key of await keysUnder(url, prefix)) await respCommand(url, ["DEL", key]);
}

/** Every key under `prefix:`, read with SCAN rather than KEYS so a large server is not blocked. */
export async function keysUnder(url: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const reply = (await respCommand(url, ["SCAN", cursor, "MATCH", `${prefix}:*`, "COUNT", "1000"])) as [string, RespReply[]];
    cursor = reply[0];
    keys.push(...(reply[1] as string[]));
  } while (cursor !== "0");
  return keys;
}
