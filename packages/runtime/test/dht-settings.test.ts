import { describe, expect, it } from "vitest";
import { ConfigError } from "@shoal/service-kit";
import { dhtSettingsFrom, userDhtStateFile } from "@shoal/runtime";

describe("DHT settings", () => {
  it("is on by default with the public routers and the default port", () => {
    expect(dhtSettingsFrom({}, {})).toEqual({ dht: true });
  });

  it("flags win over variables; each variable stands for its flag", () => {
    expect(dhtSettingsFrom({ dhtBootstrap: "127.0.0.1:1", dhtPort: "0" }, { SHOAL_DHT_BOOTSTRAP: "127.0.0.1:2", SHOAL_DHT_PORT: "7" })).toEqual({
      dht: true,
      dhtBootstrap: "127.0.0.1:1",
      dhtPort: 0,
    });
    expect(dhtSettingsFrom({}, { SHOAL_DHT_BOOTSTRAP: "a.example:6881", SHOAL_DHT_PORT: "7", SHOAL_DHT_STATE_FILE: "/x/y.json" })).toEqual({
      dht: true,
      dhtBootstrap: "a.example:6881",
      dhtPort: 7,
      dhtStateFile: "/x/y.json",
    });
  });

  it("--no-dht, SHOAL_DHT=off and SHOAL_NO_DHT=1 turn it off", () => {
    expect(dhtSettingsFrom({ noDht: true }, {}).dht).toBe(false);
    expect(dhtSettingsFrom({}, { SHOAL_DHT: "off" }).dht).toBe(false);
    expect(dhtSettingsFrom({}, { SHOAL_NO_DHT: "1" }).dht).toBe(false);
    expect(dhtSettingsFrom({}, { SHOAL_DHT: "on" }).dht).toBe(true);
  });

  it("a bad value is a ConfigError naming its flag or variable", () => {
    expect(() => dhtSettingsFrom({ dhtBootstrap: "nohost" }, {})).toThrow(/^--dht-bootstrap: /);
    expect(() => dhtSettingsFrom({}, { SHOAL_DHT_BOOTSTRAP: "a:1,b" })).toThrow(/^SHOAL_DHT_BOOTSTRAP: .*"b" is not host:port/);
    expect(() => dhtSettingsFrom({ dhtPort: "70000" }, {})).toThrow(/^--dht-port: /);
    expect(() => dhtSettingsFrom({}, { SHOAL_DHT: "maybe" })).toThrow(ConfigError);
  });

  it("the per-user state file follows XDG_STATE_HOME", () => {
    expect(userDhtStateFile({ XDG_STATE_HOME: "/s" })).toBe("/s/shoal/dht-node.json");
    expect(userDhtStateFile({})).toMatch(/\.local\/state\/shoal\/dht-node\.json$/);
  });
});
