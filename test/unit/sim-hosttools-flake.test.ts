/**
 * Flakes on a simulated host, the pure part (sim/hosttools/flake-lock.ts): how nixos-rebuild
 * reads `--flake`, which folder a reference names, which locked inputs are simulated nixpkgs
 * revisions, and the lock-file notes that overriding them would add to Nix's output.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadChannelTable } from "../../sim/hosttools/channel-table";
import { flakeTarget, localFolder, lockedNixpkgs, parseGithubUrl, relocked, toplevelAttr, withoutOverrideNotes } from "../../sim/hosttools/flake-lock";

const LOCK = fs.readFileSync(path.resolve(__dirname, "../../../test/fixtures/flake/flake.lock"), "utf8");
const REV_2405_FIRST = "5f2c6b19a4e3d8c7b2a1f0e9d8c7b6a5f4e3d2c1";

describe("sim host tools: flakes", () => {
  it("reads --flake as nixos-rebuild does: the name after the last #, else the host's name", () => {
    assert.deepEqual(flakeTarget("path:/etc/nixos#srv1", "x"), { flake: "path:/etc/nixos", configuration: "srv1" });
    assert.deepEqual(flakeTarget("/etc/nixos", "srv2"), { flake: "/etc/nixos", configuration: "srv2" });
    assert.deepEqual(flakeTarget(".#", "srv3"), { flake: ".", configuration: "srv3" });
    assert.deepEqual(flakeTarget(".#", ""), { flake: ".", configuration: "default" });
    assert.equal(toplevelAttr("srv1"), 'nixosConfigurations."srv1".config.system.build.toplevel');
  });

  it("finds the folder of path:, git+file: and plain path references, and none for references Nix fetches", () => {
    assert.equal(localFolder("path:/var/lib/x?narHash=abc", "/"), "/var/lib/x");
    assert.equal(localFolder("git+file:///srv/flake?ref=main", "/"), "/srv/flake");
    assert.equal(localFolder(".", "/etc/nixos"), "/etc/nixos");
    assert.equal(localFolder("github:me/fleet", "/"), undefined);
    assert.equal(localFolder("nixpkgs", "/"), undefined);
  });

  it("serves a root input locked to a simulated nixpkgs revision by that channel revision, and 404s one it does not know", () => {
    const table = loadChannelTable();
    assert.deepEqual(lockedNixpkgs(LOCK, table), [
      { kind: "served", input: "nixpkgs", pin: { channel: "nixos-24.05", suffix: ".20240812.5f2c6b1" }, rev: REV_2405_FIRST, original: { owner: "NixOS", repo: "nixpkgs", ref: "nixos-24.05" } },
    ]);
    const rev2411 = table.channels["nixos-24.11"].revisions[1].rev;
    assert.deepEqual(lockedNixpkgs(LOCK.replace(REV_2405_FIRST, rev2411), table)[0], {
      kind: "served",
      input: "nixpkgs",
      pin: { channel: "nixos-24.11", suffix: table.channels["nixos-24.11"].revisions[1].suffix },
      rev: rev2411,
      original: { owner: "NixOS", repo: "nixpkgs", ref: "nixos-24.05" },
    });
    const unknown = lockedNixpkgs(LOCK.replace(REV_2405_FIRST, "0".repeat(40)), table)[0];
    assert.deepEqual(unknown, { kind: "unknown", input: "nixpkgs", rev: "0".repeat(40), message: `unable to download 'https://api.github.com/repos/NixOS/nixpkgs/tarball/${"0".repeat(40)}': HTTP error 404` });
  });

  it("re-locks an input whose flake.nix names another branch than its lock to that branch's head, and keeps one that still matches", () => {
    const table = loadChannelTable();
    const [locked] = lockedNixpkgs(LOCK, table);
    assert.equal(relocked(locked, "github:NixOS/nixpkgs/nixos-24.05", table), locked);
    assert.equal(relocked(locked, "github:nixos/nixpkgs?ref=nixos-24.05", table), locked);
    assert.equal(relocked(locked, undefined, table), locked);
    const latest2411 = table.channels["nixos-24.11"].revisions[table.channels["nixos-24.11"].revisions.length - 1];
    assert.deepEqual(relocked(locked, "github:NixOS/nixpkgs/nixos-24.11", table), {
      kind: "served",
      input: "nixpkgs",
      pin: { channel: "nixos-24.11", suffix: latest2411.suffix },
      rev: latest2411.rev,
      original: { owner: "NixOS", repo: "nixpkgs", ref: "nixos-24.11" },
    });
    const missing = relocked(locked, "github:NixOS/nixpkgs/nixos-99.99", table);
    assert.equal(missing.kind === "unknown" && missing.message, "unable to download 'https://api.github.com/repos/NixOS/nixpkgs/commits/nixos-99.99': HTTP error 404");
    assert.deepEqual(parseGithubUrl("github:NixOS/nixpkgs"), { owner: "NixOS", repo: "nixpkgs" });
    assert.equal(parseGithubUrl("git+https://github.com/NixOS/nixpkgs"), undefined);
  });

  it("leaves inputs that are not nixpkgs, and inputs that follow another, to Nix", () => {
    const lock = JSON.parse(LOCK) as { nodes: Record<string, unknown> & { root: { inputs: Record<string, unknown> } } };
    lock.nodes["home-manager"] = { locked: { type: "github", owner: "nix-community", repo: "home-manager", rev: "a".repeat(40) } };
    lock.nodes.root.inputs["home-manager"] = "home-manager";
    lock.nodes.root.inputs["nixpkgs-old"] = ["home-manager", "nixpkgs"];
    assert.deepEqual(lockedNixpkgs(JSON.stringify(lock), loadChannelTable()).map((i) => i.input), ["nixpkgs"]);
    assert.throws(() => lockedNixpkgs("{ not json", loadChannelTable()), SyntaxError);
  });

  it("drops only Nix's note about the overridden lock file from what is shown", () => {
    const stderr = [
      "warning: not writing modified lock file of flake 'path:/etc/nixos':",
      "• Updated input 'nixpkgs':",
      "    'github:NixOS/nixpkgs/5f2c6b1' (2024-08-12)",
      "  → 'path:/var/lib/nixos-sim/nixpkgs/x?lastModified=1&narHash=sha256-x' (2026-12-02)",
      "trace: warning: something the configuration says",
      "",
    ].join("\n");
    assert.equal(withoutOverrideNotes(stderr), "trace: warning: something the configuration says\n");
  });
});
