/**
 * The simulated NixOS channels: the channel table, channel names from URLs, the channel
 * list, the search path lookup of <nixpkgs>, and channel updates and prefetches on
 * temporary folders.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readTreePin, updateChannels, uninstallChannel, ensureChannel, currentChannel, type ChannelPlaces } from "../../sim/hosttools/channel";
import { defaultChannelName, formatChannelList, installedName, parseChannelList, writeChannelList } from "../../sim/hosttools/channel-list";
import { channelOfUrl, fetchChannel, installPin, latestPin, loadChannelTable, lookupPin, tarballHash, versionOf } from "../../sim/hosttools/channel-table";
import type { Io } from "../../sim/hosttools/cli";
import { passedIncludePaths } from "../../sim/hosttools/evaluate";
import { nixPrefetchUrl } from "../../sim/hosttools/nix-prefetch-url";
import { lookupNixpkgs, parseNixPath, searchPath, type SearchProbe } from "../../sim/hosttools/nixpkgs-path";

const table = loadChannelTable();

function capture(): Io & { stdout: string; stderr: string } {
  const io = { stdout: "", stderr: "", out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

describe("sim host tools: the channel table", () => {
  it("keeps nixos-24.05's three revisions and adds nixos-24.11 with a newer kernel and Kubernetes", () => {
    const old = table.channels["nixos-24.05"];
    assert.deepEqual(old.revisions.map((r) => r.kernels[r.defaultKernel]), ["6.6.45", "6.6.46", "6.6.47"]);
    const neu = table.channels["nixos-24.11"];
    assert.deepEqual([neu.release, neu.codeName], ["24.11", "Vicuna"]);
    assert.deepEqual(neu.revisions.map((r) => r.kernels[r.defaultKernel]), ["6.6.63", "6.6.64"]);
    assert.ok(neu.revisions.every((r) => r.k3s.startsWith("1.31.") && r.kubernetes.startsWith("1.31.")));
  });

  it("installs hosts at the first revision of nixos-24.05; a channel serves its latest revision", () => {
    assert.deepEqual(installPin(table), { channel: "nixos-24.05", suffix: ".20240812.5f2c6b1" });
    assert.deepEqual(latestPin(table, "nixos-24.11"), { channel: "nixos-24.11", suffix: ".20241207.d9e8f70" });
    assert.deepEqual(latestPin(table, "nixos-24.05"), { channel: "nixos-24.05", suffix: ".20240826.c4b9e07" });
    assert.equal(latestPin(table, "nixos-99.99"), undefined);
    assert.equal(versionOf(table, { channel: "nixos-24.11", suffix: ".20241130.abc1234" }), "24.11.20241130.abc1234");
    assert.equal(lookupPin(table, { channel: "nixos-24.11", suffix: ".20240812.5f2c6b1" }), undefined, "a suffix of another channel");
  });

  it("names a channel by the URL's last path element, or the one before its tarball", () => {
    assert.equal(channelOfUrl("https://nixos.org/channels/nixos-24.11"), "nixos-24.11");
    assert.equal(channelOfUrl("https://nixos.org/channels/nixos-24.11/"), "nixos-24.11");
    assert.equal(channelOfUrl("https://nixos.org/channels/nixos-24.11/nixexprs.tar.xz"), "nixos-24.11");
    assert.equal(channelOfUrl("https://channels.example.invalid/nixos-24.05?x=1"), "nixos-24.05");
    assert.equal(channelOfUrl("channel:nixos-24.11"), "nixos-24.11");
    assert.equal(channelOfUrl("https://nixos.org"), undefined);
    assert.equal(channelOfUrl("/nix/store/x-nixos"), undefined);
  });

  it("fetches the latest revision of a known channel and fails an unknown one with Nix's 404 message", () => {
    assert.deepEqual(fetchChannel(table, "https://nixos.org/channels/nixos-24.11"), { ok: true, pin: latestPin(table, "nixos-24.11") });
    assert.deepEqual(fetchChannel(table, "https://nixos.org/channels/nixos-bogus/nixexprs.tar.xz"), {
      ok: false,
      message: "unable to download 'https://nixos.org/channels/nixos-bogus/nixexprs.tar.xz': HTTP error 404",
    });
    assert.deepEqual(fetchChannel(table, "channel:nixos-bogus"), {
      ok: false,
      message: "unable to download 'https://nixos.org/channels/nixos-bogus/nixexprs.tar.xz': HTTP error 404",
    });
  });

  it("hashes a revision's tarball the same way every time, differently per revision, in Nix's base 32", () => {
    const a = tarballHash({ channel: "nixos-24.11", suffix: ".20241130.abc1234" });
    assert.match(a, /^[0-9abcdfghijklmnpqrsvwxyz]{52}$/);
    assert.equal(tarballHash({ channel: "nixos-24.11", suffix: ".20241130.abc1234" }), a);
    assert.notEqual(tarballHash({ channel: "nixos-24.11", suffix: ".20241207.d9e8f70" }), a);
  });
});

describe("sim host tools: the channel list", () => {
  it("reads and writes nix-channel's 'url name' lines, sorted by name, last line winning", () => {
    const text = "# comment\nhttps://nixos.org/channels/nixos-24.11/ nixos\nhttps://example.org/hm home-manager\nhttps://nixos.org/channels/nixos-24.05 nixos\nhttps://nixos.org/channels/nixos-unstable\n";
    const entries = parseChannelList(text);
    assert.deepEqual(entries, [
      { name: "home-manager", url: "https://example.org/hm" },
      { name: "nixos", url: "https://nixos.org/channels/nixos-24.05" },
      { name: "nixos-unstable", url: "https://nixos.org/channels/nixos-unstable" },
    ]);
    assert.equal(formatChannelList(entries), "https://example.org/hm home-manager\nhttps://nixos.org/channels/nixos-24.05 nixos\nhttps://nixos.org/channels/nixos-unstable nixos-unstable\n");
  });

  it("names channels as nix-channel --add and the channels profile do", () => {
    assert.equal(defaultChannelName("https://nixos.org/channels/nixos-24.11"), "nixos-24.11");
    assert.equal(defaultChannelName("https://nixos.org/channels/nixos-unstable"), "nixos");
    assert.equal(installedName({ name: "nixos", url: "https://nixos.org/channels/nixos-24.11" }), "nixos-24.11");
    assert.equal(installedName({ name: "home-manager", url: "https://example.org/hm" }), "home-manager");
  });
});

describe("sim host tools: finding <nixpkgs>", () => {
  const trees: Record<string, string> = {
    "/nix/var/nix/profiles/per-user/root/channels/nixos": ".20240812.5f2c6b1",
    "/nix/store/aaa-nixexprs.tar.xz": ".20241207.d9e8f70",
  };
  const dirs = new Set(["/nix/var/nix/profiles/per-user/root/channels", "/nix/store/other", "/nix/store/other/nixos", "/srv/paths", "/srv/paths/nixpkgs", "/srv/paths/nixpkgs/nixos"]);
  for (const t of Object.keys(trees)) dirs.add(t).add(`${t}/nixos`);
  const probe: SearchProbe = {
    exists: (p) => dirs.has(p),
    treePin: (p) => (trees[p] ? { channel: trees[p].startsWith(".2024120") ? "nixos-24.11" : "nixos-24.05", suffix: trees[p] } : p === "/srv/paths/nixpkgs" ? { channel: "nixos-24.05", suffix: ".20240819.8a7d3e2" } : undefined),
  };
  const lookup = (includes: string[], nixPath = "") => lookupNixpkgs(searchPath(includes, { NIX_PATH: nixPath }), table, probe, "/var/lib");

  it("uses root's nixos channel without -I and NIX_PATH, as NixOS's default NIX_PATH says", () => {
    assert.deepEqual(lookup([]), { kind: "channel", pin: { channel: "nixos-24.05", suffix: ".20240812.5f2c6b1" }, warnings: [] });
  });

  it("lets the first matching -I entry win over NIX_PATH", () => {
    const found = lookup(["nixos-config=/etc/nixos/configuration.nix", "nixpkgs=/nix/store/aaa-nixexprs.tar.xz", "nixpkgs=/srv/paths/nixpkgs"]);
    assert.deepEqual(found, { kind: "channel", pin: { channel: "nixos-24.11", suffix: ".20241207.d9e8f70" }, warnings: [] });
    assert.deepEqual(lookup(["/srv/paths"]), { kind: "channel", pin: { channel: "nixos-24.05", suffix: ".20240819.8a7d3e2" }, warnings: [] });
  });

  it("skips a URL that cannot be downloaded with Nix's warning and falls back to the later entries", () => {
    assert.deepEqual(lookup(["nixpkgs=https://nixos.org/channels/nixos-bogus/nixexprs.tar.xz"]), {
      kind: "channel",
      pin: { channel: "nixos-24.05", suffix: ".20240812.5f2c6b1" },
      warnings: ["warning: Nix search path entry 'https://nixos.org/channels/nixos-bogus/nixexprs.tar.xz' cannot be downloaded, ignoring"],
    });
  });

  it("downloads a known channel's URL: its latest revision", () => {
    assert.deepEqual(lookup(["nixpkgs=channel:nixos-24.11"]), { kind: "channel", pin: latestPin(table, "nixos-24.11"), warnings: [] });
  });

  it("skips a path that does not exist with Nix's warning, and fails when nothing provides nixpkgs", () => {
    const found = lookup(["nixpkgs=/nowhere"], "nixos-config=/etc/nixos/configuration.nix");
    assert.deepEqual(found, {
      kind: "not-found",
      warnings: ["warning: Nix search path entry '/nowhere' does not exist, ignoring"],
      message: "error: file 'nixpkgs/nixos' was not found in the Nix search path (add it using $NIX_PATH or -I)",
    });
  });

  it("refuses a nixpkgs tree that is no simulated channel", () => {
    const found = lookup(["nixpkgs=/nix/store/other"]);
    assert.equal(found.kind, "not-simulated");
  });

  it("splits NIX_PATH at colons but not inside URLs", () => {
    assert.deepEqual(parseNixPath("nixpkgs=https://nixos.org/channels/nixos-24.11/nixexprs.tar.xz:nixos-config=/etc/nixos/c.nix:/nix/var/x:foo=channel:nixos-24.05"), [
      "nixpkgs=https://nixos.org/channels/nixos-24.11/nixexprs.tar.xz",
      "nixos-config=/etc/nixos/c.nix",
      "/nix/var/x",
      "foo=channel:nixos-24.05",
    ]);
  });

  it("passes nix-instantiate only -I entries that neither name nixpkgs nor need a download", () => {
    assert.deepEqual(passedIncludePaths(["nixpkgs=/nix/store/x", "nixos-config=/etc/nixos/c.nix", "nixpkgs/nixos=/y", "hm=https://example.org/hm.tar.gz", "/srv/paths"]), ["nixos-config=/etc/nixos/c.nix", "/srv/paths"]);
  });
});

describe("sim host tools: channel updates and prefetches", () => {
  let dir: string;
  let places: ChannelPlaces;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "channels-"));
    places = { store: path.join(dir, "store"), profile: path.join(dir, "profiles", "channels"), list: path.join(dir, "nix-channels") };
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("installs a fresh host subscribed to nixos-24.05 at its first revision", () => {
    ensureChannel(table, places);
    assert.equal(fs.readFileSync(places.list, "utf8"), "https://nixos.org/channels/nixos-24.05 nixos\n");
    assert.deepEqual(currentChannel(table, places), installPin(table));
    assert.equal(fs.readlinkSync(places.profile), "channels-1-link");
  });

  it("moves the nixos channel to the latest revision of the listed channel, as a new generation", () => {
    ensureChannel(table, places);
    writeChannelList([{ name: "nixos", url: "https://nixos.org/channels/nixos-24.11" }], places.list);
    assert.deepEqual(updateChannels(table, ["nixos"], places), { ok: true, generation: 2, created: true });
    assert.deepEqual(currentChannel(table, places), latestPin(table, "nixos-24.11"));
    assert.match(fs.readFileSync(path.join(places.profile, "manifest.nix"), "utf8"), /name = "nixos-24\.11";/);
    assert.deepEqual(updateChannels(table, ["nixos"], places), { ok: true, generation: 2, created: false }, "nothing new to fetch");
  });

  it("leaves the profile alone when a listed channel cannot be downloaded", () => {
    ensureChannel(table, places);
    writeChannelList([{ name: "nixos", url: "https://nixos.org/channels/nixos-bogus" }], places.list);
    assert.deepEqual(updateChannels(table, [], places), { ok: false, message: "unable to download 'https://nixos.org/channels/nixos-bogus': HTTP error 404" });
    assert.equal(fs.readlinkSync(places.profile), "channels-1-link");
    assert.deepEqual(currentChannel(table, places), installPin(table));
  });

  it("keeps channels not named in the update as they are, and drops removed ones", () => {
    ensureChannel(table, places);
    writeChannelList([{ name: "nixos", url: "https://nixos.org/channels/nixos-24.05" }, { name: "next", url: "https://nixos.org/channels/nixos-24.11" }], places.list);
    assert.equal(updateChannels(table, ["next"], places).ok, true);
    assert.deepEqual(currentChannel(table, places), installPin(table), "nixos was not fetched");
    assert.deepEqual(readTreePin(path.join(places.profile, "next"), table), latestPin(table, "nixos-24.11"));
    assert.equal(uninstallChannel("next", places), "next-24.11");
    assert.equal(uninstallChannel("next", places), undefined, "already gone");
    assert.deepEqual(fs.readdirSync(places.profile).sort(), ["manifest.nix", "nixos"]);
  });

  it("prefetches a channel tarball: its hash and an unpacked nixpkgs tree of the latest revision", () => {
    const io = capture();
    const url = "https://nixos.org/channels/nixos-24.11/nixexprs.tar.xz";
    assert.equal(nixPrefetchUrl(["--unpack", "--print-path", "--type", "sha256", url], {}, table, places.store, io), 0);
    const [hash, storePath, extra] = io.stdout.split("\n");
    assert.equal(hash, tarballHash(latestPin(table, "nixos-24.11")!));
    assert.match(storePath, new RegExp(`^${places.store}/[0-9abcdfghijklmnpqrsvwxyz]{32}-nixexprs\\.tar\\.xz$`));
    assert.equal(extra, "");
    assert.equal(io.stderr, "");
    assert.equal(fs.readFileSync(path.join(storePath, ".version-suffix"), "utf8"), ".20241207.d9e8f70");
    assert.equal(fs.readFileSync(path.join(storePath, ".version"), "utf8"), "24.11");
    assert.ok(fs.existsSync(path.join(storePath, "default.nix")));
    const again = capture();
    assert.equal(nixPrefetchUrl(["--unpack", url], {}, table, places.store, again), 0);
    assert.equal(again.stdout, `${hash}\n`);
    assert.equal(again.stderr, `path is '${storePath}'\n`);
  });

  it("fails a prefetch of a channel that does not exist with Nix's 404 error and creates nothing", () => {
    const io = capture();
    const url = "https://nixos.org/channels/nixos-bogus/nixexprs.tar.xz";
    assert.equal(nixPrefetchUrl(["--unpack", "--print-path", url], {}, table, places.store, io), 1);
    assert.deepEqual([io.stdout, io.stderr], ["", `error: unable to download '${url}': HTTP error 404\n`]);
    assert.equal(fs.existsSync(places.store), false);
  });

  it("refuses what it does not simulate and bad command lines, as usage errors or plainly", () => {
    const usage = capture();
    assert.equal(nixPrefetchUrl(["--unpack"], {}, table, places.store, usage), 1);
    assert.equal(usage.stderr, "error: you must specify a URL\nTry 'nix-prefetch-url --help' for more information.\n");
    const flat = capture();
    assert.equal(nixPrefetchUrl(["https://nixos.org/channels/nixos-24.11/nixexprs.tar.xz"], {}, table, places.store, flat), 1);
    assert.match(flat.stderr, /only `--unpack …\/nixos-24\.11\/nixexprs\.tar\.xz` is simulated/);
  });
});
