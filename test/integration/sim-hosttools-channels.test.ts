/**
 * Several NixOS channels served offline to a simulated host: prefetching a channel and
 * building against it with -I nixpkgs=, moving root's channel with nix-channel, and what
 * fails when a channel does not exist. Run inside a host's mount namespace with the real
 * nix-instantiate.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { useHostToolsFleet, type TestHost } from "./hosttools-harness";

const CHANNELS_PROFILE = "fs/nix-var/profiles/per-user/root/channels";
const NIXOS_24_11_TARBALL = "https://nixos.org/channels/nixos-24.11/nixexprs.tar.xz";

/** The system.json a built system records (its version and packages). */
function systemInfo(h: TestHost, system: string): { nixosVersion: string; kernelVersion: string; systemPackages: string[] } {
  return JSON.parse(fs.readFileSync(h.storeFile(system, "etc/nixos-sim/system.json"), "utf8")) as { nixosVersion: string; kernelVersion: string; systemPackages: string[] };
}

/** The version suffix of root's `nixos` channel, read on the host. */
async function channelSuffix(h: TestHost): Promise<string> {
  return (await h.ok("cat /nix/var/nix/profiles/per-user/root/channels/nixos/.version-suffix")).stdout;
}

describe("simulated NixOS host tools: channels", function () {
  this.timeout(120_000);
  const tools = useHostToolsFleet("chan");

  it("a fresh host is subscribed to nixos-24.05 at its first revision", async () => {
    const h = await tools.freshHost();
    assert.equal((await h.ok("nix-channel --list")).stdout, "nixos https://nixos.org/channels/nixos-24.05\n");
    assert.equal(await channelSuffix(h), ".20240812.5f2c6b1");
    assert.equal(h.link(CHANNELS_PROFILE), "channels-1-link");
    // Without a name, --add names the channel after the URL (nixos-24.11, not nixos).
    await h.ok("nix-channel --add https://nixos.org/channels/nixos-24.11");
    assert.equal((await h.ok("nix-channel --list")).stdout, "nixos https://nixos.org/channels/nixos-24.05\nnixos-24.11 https://nixos.org/channels/nixos-24.11\n");
    const unknown = await h.run("nix-channel --frobnicate");
    assert.deepEqual([unknown.code, unknown.stderr], [1, "error: unsupported argument '--frobnicate'\nTry 'nix-channel --help' for more information.\n"]);
  });

  it("nix-prefetch-url unpacks nixos-24.11; nixos-rebuild build -I nixpkgs=<it> builds 24.11 without touching root's channel", async () => {
    const h = await tools.freshHost();
    const prefetch = await h.ok(`nix-prefetch-url --unpack --print-path --type sha256 ${NIXOS_24_11_TARBALL}`);
    const [hash, tree, ...rest] = prefetch.stdout.split("\n");
    assert.match(hash, /^[0-9abcdfghijklmnpqrsvwxyz]{52}$/);
    assert.match(tree, /^\/nix\/store\/[0-9abcdfghijklmnpqrsvwxyz]{32}-nixexprs\.tar\.xz$/);
    assert.deepEqual(rest, [""]);
    assert.equal(fs.readFileSync(h.storeFile(tree, ".version"), "utf8"), "24.11");
    assert.equal(fs.readFileSync(h.storeFile(tree, ".version-suffix"), "utf8"), ".20241207.d9e8f70");
    assert.equal(fs.readFileSync(h.storeFile(tree, ".git-revision"), "utf8"), "d9e8f70a1b2c3d4e5f60718293a4b5c6d7e8f901");
    const again = await h.ok(`nix-prefetch-url --unpack --print-path ${NIXOS_24_11_TARBALL}`);
    assert.equal(again.stdout, prefetch.stdout, "the same revision is the same hash and path");

    const build = await h.ok(`nixos-rebuild build -I nixpkgs=${tree} -I nixos-config=/etc/nixos/configuration.nix`);
    assert.doesNotMatch(build.stderr, /search path entry/);
    const result = h.link("fs/var-lib/result") ?? "";
    assert.match(fs.readlinkSync(h.storeFile(result, "kernel")), /-linux-6\.6\.64\/bzImage$/);
    const info = systemInfo(h, result);
    assert.equal(info.nixosVersion, "24.11.20241207.d9e8f70");
    assert.equal(fs.readFileSync(h.storeFile(result, "nixos-version"), "utf8"), "24.11.20241207.d9e8f70");
    assert.ok(info.systemPackages.includes("git-2.47.0"), `24.11's git in ${info.systemPackages.join(" ")}`);
    assert.equal((await h.ok(`${result}/sw/bin/nixos-version`)).stdout, "24.11.20241207.d9e8f70 (Vicuna)\n");

    assert.equal(h.link(CHANNELS_PROFILE), "channels-1-link");
    assert.equal(await channelSuffix(h), ".20240812.5f2c6b1");
    const current = h.link("fs/nix-var/profiles/system") ?? "";
    assert.equal(current, "system-1-link", "build sets no profile");
    assert.match(fs.readlinkSync(h.storeFile(h.link("fs/nix-var/profiles/system-1-link") ?? "", "kernel")), /-linux-6\.6\.45\/bzImage$/);
  });

  it("a channel that does not exist fails the prefetch with Nix's 404 error and creates nothing", async () => {
    const h = await tools.freshHost();
    const before = h.snapshot();
    const url = "https://nixos.org/channels/nixos-bogus/nixexprs.tar.xz";
    const r = await h.run(`nix-prefetch-url --unpack --print-path --type sha256 ${url}`);
    assert.deepEqual([r.code, r.stdout, r.stderr], [1, "", `error: unable to download '${url}': HTTP error 404\n`]);
    assert.equal(h.snapshot(), before);
  });

  it("nix-channel --add …/nixos-24.11 nixos and --update nixos move root's channel; nixos-rebuild boot then builds 24.11; --rollback goes back", async () => {
    const h = await tools.freshHost();
    await h.ok("nix-channel --add https://nixos.org/channels/nixos-24.11 nixos");
    assert.equal((await h.ok("nix-channel --list")).stdout, "nixos https://nixos.org/channels/nixos-24.11\n");
    assert.equal(h.link(CHANNELS_PROFILE), "channels-1-link", "--add alone fetches nothing");
    const update = await h.ok("nix-channel --update nixos");
    assert.equal(update.stderr, "unpacking channels...\n");
    assert.equal(h.link(CHANNELS_PROFILE), "channels-2-link");
    assert.equal(await channelSuffix(h), ".20241207.d9e8f70");

    await h.ok("nixos-rebuild boot");
    const neu = h.link("fs/nix-var/profiles/system-2-link") ?? "";
    assert.match(fs.readlinkSync(h.storeFile(neu, "kernel")), /-linux-6\.6\.64\/bzImage$/);
    assert.equal(systemInfo(h, neu).nixosVersion, "24.11.20241207.d9e8f70");
    h.boot();
    assert.equal((await h.ok("uname -r")).stdout, "6.6.64\n");
    assert.equal((await h.ok("nixos-version")).stdout, "24.11.20241207.d9e8f70 (Vicuna)\n");

    const back = await h.ok("nix-channel --rollback");
    assert.equal(back.stderr, "switching profile from version 2 to 1\n");
    assert.equal(h.link(CHANNELS_PROFILE), "channels-1-link");
    assert.equal(await channelSuffix(h), ".20240812.5f2c6b1");
    const none = await h.run("nix-channel --rollback");
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^error: no profile version older than the current \(1\) exists\nerror: program '\/nix\/store\/\S+\/sw\/bin\/nix-env' failed with exit code 1\n$/);
    assert.equal((await h.ok("nix-channel --rollback 2")).stderr, "switching profile from version 1 to 2\n");
    assert.equal(await channelSuffix(h), ".20241207.d9e8f70");
  });

  it("a channel that cannot be downloaded fails nix-channel --update and nixos-rebuild --upgrade and leaves the profile", async () => {
    const h = await tools.freshHost();
    await h.ok("nix-channel --add https://nixos.org/channels/nixos-bogus nixos");
    const before = h.snapshot();
    const update = await h.run("nix-channel --update nixos");
    assert.deepEqual([update.code, update.stderr], [1, "error: unable to download 'https://nixos.org/channels/nixos-bogus': HTTP error 404\n"]);
    assert.equal(h.snapshot(), before);
    const upgrade = await h.run("nixos-rebuild boot --upgrade");
    assert.deepEqual([upgrade.code, upgrade.stderr], [1, "error: unable to download 'https://nixos.org/channels/nixos-bogus': HTTP error 404\n"]);
    assert.equal(h.snapshot(), before, "nothing was built");
    assert.deepEqual(tools.control().events, []);
    assert.equal(await channelSuffix(h), ".20240812.5f2c6b1");
  });

  it("-I nixpkgs=<URL that cannot be downloaded> warns as Nix does and falls back to root's channel", async () => {
    const h = await tools.freshHost();
    const url = "https://nixos.org/channels/nixos-bogus/nixexprs.tar.xz";
    const r = await h.ok(`nixos-rebuild build -I nixpkgs=${url}`);
    assert.ok(r.stderr.includes(`\nwarning: Nix search path entry '${url}' cannot be downloaded, ignoring\n`), r.stderr);
    const result = h.link("fs/var-lib/result") ?? "";
    assert.match(fs.readlinkSync(h.storeFile(result, "kernel")), /-linux-6\.6\.45\/bzImage$/);
    assert.equal(systemInfo(h, result).nixosVersion, "24.05.20240812.5f2c6b1");
  });

  it("-I nixpkgs=<a path that is no channel tree> is refused, naming the path", async () => {
    const h = await tools.freshHost();
    fs.mkdirSync(path.join(h.paths.varLib, "mypkgs", "nixos"), { recursive: true });
    const r = await h.run("nixos-rebuild build -I nixpkgs=/var/lib/mypkgs");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/var\/lib\/mypkgs \(search path entry 'nixpkgs=\/var\/lib\/mypkgs'\) is not a nixpkgs tree of a channel this simulated host knows/);
  });
});
