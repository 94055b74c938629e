/**
 * The inventory's nix.channel and nix.upgradeToken: how they reach each host's rollout and
 * build, and the refusals that come before any host is touched.
 */
import * as assert from "node:assert/strict";
import { planHosts } from "../../lib/inventory/plan";
import { stagingDirFor } from "../../lib/nixos/staging";
import { rebuildReason } from "../../providers/fleetBuildProps";
import { inlineInventory, loginKey, memoryIo, refusalsOf, smallInventory } from "./helpers/fixtures";

type Json = Record<string, unknown> & { hosts: Record<string, unknown>[] };

function fleet(edit: (inv: Json) => void = () => {}): Json {
  const inv = smallInventory([{ name: "srv1" }, { name: "srv2" }, { name: "srv3" }]) as Json;
  edit(inv);
  return inv;
}
const plan = (inv: Json) => planHosts(inlineInventory(inv), { sshPrivateKey: loginKey(), values: {} }, memoryIo("/project", {}));

describe("inventory: nix.channel and nix.upgradeToken", () => {
  it("pins every host to the fleet's channel, a host's own replacing it, as a URL with its token", () => {
    const specs = plan(
      fleet((inv) => {
        inv.nix = { channel: "nixos-24.11", upgradeToken: "2026-12-01" };
        inv.hosts[2].nix = { channel: "https://mirror.example.org/nixos/24.05", upgradeToken: "canary" };
      }),
    );
    assert.deepEqual(
      specs.map((s) => [s.name, s.channel]),
      [
        ["srv1", { url: "https://nixos.org/channels/nixos-24.11", upgradeToken: "2026-12-01" }],
        ["srv2", { url: "https://nixos.org/channels/nixos-24.11", upgradeToken: "2026-12-01" }],
        ["srv3", { url: "https://mirror.example.org/nixos/24.05", upgradeToken: "canary" }],
      ],
    );
  });

  it("leaves hosts on their own channel when none is pinned", () => {
    assert.ok(plan(fleet()).every((s) => s.channel === undefined && !("channel" in s)));
  });

  it("refuses what is not a channel, at its path", () => {
    const issues = refusalsOf(fleet((inv) => (inv.hosts[1].nix = { channel: "24.11" })));
    assert.match(issues.get("hosts[1].nix.channel") ?? "", /"24\.11" is not a NixOS channel: give a channel name such as nixos-24\.11/);
  });

  it("refuses an upgrade token without a channel to upgrade", () => {
    const fleetWide = refusalsOf(fleet((inv) => (inv.nix = { upgradeToken: "now" })));
    assert.match(fleetWide.get("nix.upgradeToken") ?? "", /^srv1, srv2, srv3 have no channel to upgrade: set nix\.channel/);
    const oneHost = refusalsOf(fleet((inv) => (inv.hosts[0].nix = { upgradeToken: "now" })));
    assert.match(oneHost.get("hosts[0].nix.upgradeToken") ?? "", /^srv1 has no channel to upgrade/);
    // A host with its own channel may take the fleet's token; the others are named.
    const partly = refusalsOf(fleet((inv) => {
      inv.nix = { upgradeToken: "now" };
      inv.hosts[0].nix = { channel: "nixos-24.11" };
    }));
    assert.match(partly.get("nix.upgradeToken") ?? "", /^srv2, srv3 have no channel/);
  });

  it("points nk3's nix_channel at nix.channel", () => {
    assert.match(refusalsOf(fleet((inv) => (inv.nix_channel = "nixos-24.05"))).get("nix_channel") ?? "", /did you mean nix\.channel/);
  });

  it("builds the same files from another channel, or with another token, in another staging folder and again", () => {
    const files = { "configuration.nix": "{ }\n" };
    const a = { url: "https://nixos.org/channels/nixos-24.05", upgradeToken: "" };
    const b = { url: "https://nixos.org/channels/nixos-24.11", upgradeToken: "" };
    const dirs = new Set([stagingDirFor(files), stagingDirFor(files, a), stagingDirFor(files, b), stagingDirFor(files, { ...b, upgradeToken: "x" })]);
    assert.equal(dirs.size, 4);
    const news = { files, stagingDir: stagingDirFor(files, b), channel: b } as unknown as Parameters<typeof rebuildReason>[2];
    assert.equal(rebuildReason({ ...news, stagingDir: stagingDirFor(files, a), channel: a }, "/nix/store/s", news), "stagingDir and channel changed");
    assert.equal(rebuildReason(news, "/nix/store/s", news), undefined);
  });
});
