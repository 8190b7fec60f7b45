import { describe, expect, it } from "vitest";
import { ConfigError } from "@shoal/service-kit";
import { encryptionFrom } from "../src/encryption-setting.js";

describe("encryption policy from --encryption or SHOAL_ENCRYPTION", () => {
  it("takes the flag over the variable, and neither leaves the default to the peer-worker schema", () => {
    expect(encryptionFrom("require", { SHOAL_ENCRYPTION: "disable" })).toBe("require");
    expect(encryptionFrom(undefined, { SHOAL_ENCRYPTION: " disable " })).toBe("disable");
    expect(encryptionFrom(undefined, {})).toBeUndefined();
  });

  it("refuses anything else in one line naming where it came from", () => {
    expect(() => encryptionFrom(undefined, { SHOAL_ENCRYPTION: "rc4" })).toThrow(ConfigError);
    expect(() => encryptionFrom(undefined, { SHOAL_ENCRYPTION: "rc4" })).toThrow('SHOAL_ENCRYPTION: "rc4" is not an encryption policy (one of prefer, require, disable)');
    expect(() => encryptionFrom("on", {})).toThrow('--encryption: "on" is not an encryption policy');
  });
});
