/**
 * A host's pinned channel (lib/nixos/channel.ts): which references are channels, and the two
 * shell scripts a rollout runs on the host, run here by a real POSIX shell against stand-ins of
 * nix-prefetch-url, nixos-rebuild and nix-channel that behave as those tools do at their
 * command line (a failed download exits 1 with Nix's message and prints no path).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { channelBuildScript, channelName, channelRefProblem, channelUrl, parseSetChannel, setChannelScript } from "../../lib/nixos/channel";

const PIN = { url: "https://nixos.org/channels/nixos-24.11", upgradeToken: "" };

/** A folder with stand-in tools on PATH, a log of their calls, and a shell to run scripts in. */
function toolbox() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-channel-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const tool = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${dir}/calls\n${body}\n`, { mode: 0o755 });
  // nix-prefetch-url: a channel listed in ./served unpacks to a folder; others fail as a 404 does.
  tool(
    "nix-prefetch-url",
    `url=""; for a in "$@"; do case "$a" in -*) ;; *) url="$a";; esac; done
name=$(basename "$(dirname "$url")")
if grep -qx "$name" ${dir}/served 2>/dev/null; then mkdir -p ${dir}/store/$name; echo 0abc; echo ${dir}/store/$name; exit 0; fi
echo "error: unable to download '$url': HTTP error 404" >&2; exit 1`,
  );
  tool("nixos-rebuild", "exit 0");
  // nix-channel: its list in ./channels ("url name" lines, as ~/.nix-channels); --update fails while ./update-fails exists.
  tool(
    "nix-channel",
    `list=${dir}/channels; touch $list
case "$1" in
  --list) awk '{ print $2 " " $1 }' $list ;;
  --add) grep -v " $3\\$" $list > $list.new || true; echo "$2 $3" >> $list.new; mv $list.new $list ;;
  --remove) grep -v " $2\\$" $list > $list.new || true; mv $list.new $list ;;
  --update) if [ -e ${dir}/update-fails ]; then echo "error: unable to download 'x': HTTP error 404" >&2; exit 1; fi; echo "unpacking channels..." >&2 ;;
esac`,
  );
  const run = (script: string, cwd = dir) => spawnSync("sh", ["-c", script], { cwd, env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
  const calls = () => (fs.existsSync(`${dir}/calls`) ? fs.readFileSync(`${dir}/calls`, "utf8").trim().split("\n") : []);
  const list = () => fs.readFileSync(`${dir}/channels`, "utf8");
  return { dir, run, calls, list, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

describe("channel references (inventory nix.channel)", () => {
  it("accepts channel names and https URLs, and names the channel's URL", () => {
    for (const ok of ["nixos-24.11", "nixos-unstable", "nixpkgs-unstable", "nixos-24.11-small", "https://nixos.org/channels/nixos-24.05", "https://mirror.example.org/nixos/24.11"]) {
      assert.equal(channelRefProblem(ok), undefined, ok);
    }
    assert.equal(channelUrl("nixos-24.11"), "https://nixos.org/channels/nixos-24.11");
    assert.equal(channelUrl("https://mirror.example.org/nixos/24.11"), "https://mirror.example.org/nixos/24.11");
    assert.equal(channelName("https://nixos.org/channels/nixos-24.11"), "nixos-24.11");
  });

  it("refuses what is not a channel, saying what one looks like", () => {
    for (const bad of ["24.11", "nixos", "http://nixos.org/channels/nixos-24.11", "https://nixos.org/channels/nixos-24.11/", "nixos 24.11", "NixOS-24.11"]) {
      assert.match(channelRefProblem(bad) ?? "", /is not a NixOS channel: give a channel name such as nixos-24\.11/, bad);
    }
  });
});

describe("building from a pinned channel (channelBuildScript)", () => {
  let box: ReturnType<typeof toolbox>;
  beforeEach(() => (box = toolbox()));
  afterEach(() => box.cleanup());

  it("fetches the channel into the store and builds against that tree, linked as ./nixpkgs", () => {
    fs.writeFileSync(`${box.dir}/served`, "nixos-24.11\n");
    const r = box.run(channelBuildScript(PIN, ["-I", "nixos-config=/var/lib/nixos-fleet/staging/ab/configuration.nix"]));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(box.calls(), [
      "nix-prefetch-url --unpack --print-path https://nixos.org/channels/nixos-24.11/nixexprs.tar.xz",
      `nixos-rebuild build -I nixpkgs=${box.dir}/store/nixos-24.11 -I nixos-config=/var/lib/nixos-fleet/staging/ab/configuration.nix`,
    ]);
    assert.equal(fs.readlinkSync(`${box.dir}/nixpkgs`), `${box.dir}/store/nixos-24.11`);
  });

  it("builds configuration.nix with --no-flake while /etc/nixos still holds a flake.nix, and as before without one", () => {
    fs.writeFileSync(`${box.dir}/served`, "nixos-24.11\n");
    const etc = path.join(box.dir, "etc-nixos");
    fs.mkdirSync(etc);
    assert.equal(box.run(channelBuildScript(PIN, [], etc)).status, 0);
    fs.writeFileSync(path.join(etc, "flake.nix"), "{ }\n");
    assert.equal(box.run(channelBuildScript(PIN, [], etc)).status, 0);
    assert.deepEqual(box.calls().filter((c) => c.startsWith("nixos-rebuild")), [
      `nixos-rebuild build -I nixpkgs=${box.dir}/store/nixos-24.11`,
      `nixos-rebuild build --no-flake -I nixpkgs=${box.dir}/store/nixos-24.11`,
    ]);
  });

  it("stops with Nix's download error when the channel does not exist, and builds nothing", () => {
    const r = box.run(channelBuildScript({ url: "https://nixos.org/channels/nixos-99.99", upgradeToken: "" }, []));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unable to download 'https:\/\/nixos\.org\/channels\/nixos-99\.99\/nixexprs\.tar\.xz': HTTP error 404/);
    assert.ok(!box.calls().some((c) => c.startsWith("nixos-rebuild")), "no build from whatever channel the host has");
    assert.ok(!fs.existsSync(`${box.dir}/nixpkgs`));
    assert.doesNotMatch(r.stderr, /printed no store path/, "the download error is the one reported");
  });
});

describe("setting the host's channel (setChannelScript)", () => {
  let box: ReturnType<typeof toolbox>;
  let tokenFile: string;
  beforeEach(() => {
    box = toolbox();
    tokenFile = `${box.dir}/state/channel-token`;
    fs.writeFileSync(`${box.dir}/channels`, "https://nixos.org/channels/nixos-24.05 nixos\n");
  });
  afterEach(() => box.cleanup());

  const set = (pin = PIN) => box.run(setChannelScript(pin, tokenFile));

  it("replaces the nixos channel, updates it, records the token and says what it was", () => {
    const r = set({ ...PIN, upgradeToken: "2026-12" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(parseSetChannel(r.stdout), { changed: true, previous: "https://nixos.org/channels/nixos-24.05" });
    assert.equal(box.list(), "https://nixos.org/channels/nixos-24.11 nixos\n");
    assert.equal(fs.readFileSync(tokenFile, "utf8"), "2026-12");
    assert.ok(box.calls().includes("nix-channel --update nixos"));
  });

  it("does nothing when the channel and the token are set already", () => {
    assert.equal(set().status, 0);
    const before = box.calls().length;
    const r = set();
    assert.deepEqual(parseSetChannel(r.stdout), { changed: false });
    assert.deepEqual(box.calls().slice(before), ["nix-channel --list"], "no download when nothing changed");
  });

  it("updates again when only the upgrade token changed", () => {
    set();
    const r = set({ ...PIN, upgradeToken: "again" });
    assert.deepEqual(parseSetChannel(r.stdout), { changed: true, previous: PIN.url });
    assert.equal(box.calls().filter((c) => c === "nix-channel --update nixos").length, 2);
  });

  it("puts the previous channel back when the update fails", () => {
    fs.writeFileSync(`${box.dir}/update-fails`, "");
    const r = set();
    assert.equal(r.status, 1);
    assert.match(r.stderr, /HTTP error 404/);
    assert.equal(box.list(), "https://nixos.org/channels/nixos-24.05 nixos\n");
    assert.ok(!fs.existsSync(tokenFile));
  });

  it("removes the channel it added when the host had none and the update fails", () => {
    fs.writeFileSync(`${box.dir}/channels`, "");
    fs.writeFileSync(`${box.dir}/update-fails`, "");
    assert.equal(set().status, 1);
    assert.equal(box.list(), "");
  });

  it("says when the host had no channel before", () => {
    fs.writeFileSync(`${box.dir}/channels`, "");
    assert.deepEqual(parseSetChannel(set().stdout), { changed: true, previous: "none" });
  });
});
