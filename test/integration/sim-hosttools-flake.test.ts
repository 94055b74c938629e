/**
 * `nixos-rebuild --flake` on a simulated host: the real Nix evaluates the flake of
 * test/fixtures/flake (locked to nixos-24.05) with its nixpkgs input served by the simulated
 * channel revision its flake.lock names; a lock bump changes the kernel as a channel bump does,
 * and errors are Nix's own. Run inside a host's mount namespace.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { useHostToolsFleet, type TestHost } from "./hosttools-harness";

const FIXTURE = path.resolve(__dirname, "../../../test/fixtures/flake");
const REV_2405_FIRST = "5f2c6b19a4e3d8c7b2a1f0e9d8c7b6a5f4e3d2c1";
const REV_2405_SECOND = "8a7d3e2f1c0b9a8d7e6f5a4b3c2d1e0f9a8b7c6d";
const REV_2411_LATEST = "d9e8f70a1b2c3d4e5f60718293a4b5c6d7e8f901";
const CHANNELS_PROFILE = "fs/nix-var/profiles/per-user/root/channels";

/** The system.json a built system records. */
function systemInfo(h: TestHost, system: string): { nixosVersion: string; kernelVersion: string; systemPackages: string[] } {
  return JSON.parse(fs.readFileSync(h.storeFile(system, "etc/nixos-sim/system.json"), "utf8")) as { nixosVersion: string; kernelVersion: string; systemPackages: string[] };
}

/**
 * Puts the fixture flake into the host's /etc/nixos, with a fleet/ module standing in for the
 * fleet's rendering: the installer's configuration.nix (boot loader, file systems, SSH).
 */
function writeFlake(h: TestHost, edit: { lockRev?: string; common?: string; branch?: string } = {}): void {
  const etc = h.paths.etcNixos;
  fs.mkdirSync(path.join(etc, "hosts"), { recursive: true });
  fs.mkdirSync(path.join(etc, "fleet"), { recursive: true });
  const flake = fs.readFileSync(path.join(FIXTURE, "flake.nix"), "utf8");
  fs.writeFileSync(path.join(etc, "flake.nix"), edit.branch ? flake.replace("nixpkgs/nixos-24.05", `nixpkgs/${edit.branch}`) : flake);
  const lock = fs.readFileSync(path.join(FIXTURE, "flake.lock"), "utf8");
  fs.writeFileSync(path.join(etc, "flake.lock"), edit.lockRev ? lock.replace(REV_2405_FIRST, edit.lockRev) : lock);
  fs.writeFileSync(path.join(etc, "hosts/common.nix"), edit.common ?? fs.readFileSync(path.join(FIXTURE, "hosts/common.nix"), "utf8"));
  fs.writeFileSync(path.join(etc, "fleet/default.nix"), "{ ... }: { imports = [ ../configuration.nix ]; }\n");
}

/** The kernel a built system boots, as its kernel link names it. */
function kernelOf(h: TestHost, system: string): string {
  return /-linux-([0-9.]+)\/bzImage$/.exec(fs.readlinkSync(h.storeFile(system, "kernel")))?.[1] ?? "";
}

describe("simulated NixOS host tools: flakes", function () {
  this.timeout(120_000);
  const tools = useHostToolsFleet("flk");

  it("nixos-rebuild build --flake path:/etc/nixos#srv1 builds the configuration from the nixpkgs revision flake.lock names, into the host's own store", async () => {
    const h = await tools.freshHost();
    writeFlake(h);
    const channelsBefore = h.link(CHANNELS_PROFILE);
    const r = await h.ok("nixos-rebuild build --flake path:/etc/nixos#srv1");
    assert.doesNotMatch(r.stderr, /lock file|Updated input/, "the stand-in's override is not shown");
    const result = h.link("fs/var-lib/result") ?? "";
    assert.equal(kernelOf(h, result), "6.6.45");
    const info = systemInfo(h, result);
    assert.equal(info.nixosVersion, "24.05.20240812.5f2c6b1");
    assert.ok(info.systemPackages.includes("git-2.44.1"), `the flake's module adds 24.05's git: ${info.systemPackages.join(" ")}`);
    assert.equal(h.link("fs/nix-var/profiles/system"), "system-1-link", "build sets no profile");
    assert.equal(h.link(CHANNELS_PROFILE), channelsBefore, "root's channels are not touched");
    // Nix copied the flake into the host's store (and its database), not into the machine's.
    const sources = fs.readdirSync(h.paths.store).filter((n) => n.endsWith("-source") && fs.existsSync(path.join(h.paths.store, n, "hosts/common.nix")));
    assert.equal(sources.length, 1, `the flake's copy in ${h.paths.store}`);
    assert.ok(!fs.existsSync(path.join("/nix/store", sources[0])), `${sources[0]} is in the machine's store`);
    assert.ok(fs.existsSync(path.join(h.paths.nixVar, "db/db.sqlite")), "the host's own Nix database records it");
  });

  it("a flake.lock bump to the next nixos-24.05 revision, then to nixos-24.11, changes the kernel; nixos-rebuild boot makes it the boot default", async () => {
    const h = await tools.freshHost();
    writeFlake(h, { lockRev: REV_2405_SECOND });
    await h.ok("nixos-rebuild boot --flake path:/etc/nixos#srv1");
    assert.equal(h.link("fs/nix-var/profiles/system"), "system-2-link");
    const second = h.link("fs/nix-var/profiles/system-2-link") ?? "";
    assert.equal(kernelOf(h, second), "6.6.46");
    assert.equal(systemInfo(h, second).nixosVersion, "24.05.20240819.8a7d3e2");

    writeFlake(h, { lockRev: REV_2411_LATEST });
    await h.ok("nixos-rebuild build --flake /etc/nixos#srv1");
    const result = h.link("fs/var-lib/result") ?? "";
    assert.equal(kernelOf(h, result), "6.6.64");
    const info = systemInfo(h, result);
    assert.equal(info.nixosVersion, "24.11.20241207.d9e8f70");
    assert.ok(info.systemPackages.includes("git-2.47.0"), "24.11's git");
  });

  it("an evaluation error is reported as Nix reports it, at the flake's file in the store, and changes nothing", async () => {
    const h = await tools.freshHost();
    writeFlake(h, { common: "{ pkgs, ... }:\n{\n  environment.systemPackages = [ pkgs.git nope ];\n}\n" });
    const before = h.snapshot();
    const r = await h.run("nixos-rebuild switch --flake path:/etc/nixos#srv1");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: undefined variable 'nope'/);
    assert.match(r.stderr, /at \/nix\/store\/[0-9a-z]{32}-source\/hosts\/common\.nix:3:\d+:/);
    assert.equal(h.snapshot().replace(/"store":\[[^\]]*\]/, ""), before.replace(/"store":\[[^\]]*\]/, ""), "profile, loader and /run unchanged");
    assert.ok(tools.control().events.some((e) => e.kind === "build-finished" && (e.detail as { ok?: boolean }).ok === false), "the failed build is recorded");
  });

  it("a configuration the flake does not have, and a locked nixpkgs revision that does not exist, fail as Nix fails", async () => {
    const h = await tools.freshHost();
    writeFlake(h);
    const missing = await h.run("nixos-rebuild build --flake path:/etc/nixos#srv9");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error: flake 'path:\/etc\/nixos' does not provide attribute '[^']*nixosConfigurations\."srv9"\.config\.system\.build\.toplevel'/);
    writeFlake(h, { lockRev: "0123456789abcdef0123456789abcdef01234567" });
    const unknown = await h.run("nixos-rebuild build --flake path:/etc/nixos#srv1");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /error: unable to download 'https:\/\/api\.github\.com\/repos\/NixOS\/nixpkgs\/tarball\/0123456789abcdef0123456789abcdef01234567': HTTP error 404/);
  });

  it("a flake.nix that names another branch than its stale flake.lock builds that branch's head, as Nix re-locks it", async () => {
    const h = await tools.freshHost();
    writeFlake(h, { branch: "nixos-24.11" });
    await h.ok("nixos-rebuild build --flake path:/etc/nixos#srv1");
    const result = h.link("fs/var-lib/result") ?? "";
    assert.equal(kernelOf(h, result), "6.6.64");
    assert.equal(systemInfo(h, result).nixosVersion, "24.11.20241207.d9e8f70");
  });

  it("--no-flake builds configuration.nix beside a flake, as NixOS's script does", async () => {
    const h = await tools.freshHost();
    writeFlake(h, { lockRev: REV_2411_LATEST });
    await h.ok("nixos-rebuild build --no-flake");
    assert.equal(kernelOf(h, h.link("fs/var-lib/result") ?? ""), "6.6.45", "root's nixos-24.05 channel, not the flake's 24.11");
  });
});
