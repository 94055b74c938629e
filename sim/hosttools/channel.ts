/**
 * The channels of a simulated host. Like on NixOS, root's channels profile
 * (/nix/var/nix/profiles/per-user/root/channels) is a user environment with one folder per
 * subscribed channel (`nixos` → a nixpkgs tree with .version, .version-suffix and
 * .git-revision), and `nix-channel --update` fetches the listed channels (channel-table.ts)
 * and installs them as a new generation of that profile.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { installedName, readChannelList, writeChannelList, CHANNEL_LIST, type ChannelEntry } from "./channel-list";
import { CHANNELS_URL, fetchChannel, installPin, lookupPin, pinBySuffix, type ChannelPin, type ChannelTable } from "./channel-table";
import { HOST, simNixDir } from "./paths";
import { setProfile } from "./profile";
import { storeHash } from "./storehash";

/** Where a host keeps its channels (real paths on the host by default). */
export interface ChannelPlaces {
  readonly store: string;
  readonly profile: string;
  /** root's channel list (channel-list.ts). */
  readonly list: string;
}

const HOST_PLACES: ChannelPlaces = { store: HOST.store, profile: HOST.channelsProfile, list: CHANNEL_LIST };

/**
 * A file in every simulated nixpkgs tree naming the channel it came from. Real trees do not
 * have it; only the simulator reads it, to tell channels apart whose suffixes could collide.
 */
export const SIM_CHANNEL_FILE = ".nixos-sim-channel";

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/**
 * Writes the nixpkgs tree of a channel revision into `dir` (which must not exist yet),
 * through a temporary folder renamed into place so a tree is never seen half written.
 * Its Nix files lead to the simulated package set of sim/nix.
 */
export function writeNixpkgsTree(dir: string, table: ChannelTable, pin: ChannelPin): void {
  const found = lookupPin(table, pin);
  if (!found) throw new Error(`${pin.channel}${pin.suffix} is not a revision listed in sim/nix/channels.json`);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const nix = simNixDir();
  write(path.join(tmp, ".version"), found.release.release);
  write(path.join(tmp, ".version-suffix"), pin.suffix);
  write(path.join(tmp, ".git-revision"), found.revision.rev);
  write(path.join(tmp, SIM_CHANNEL_FILE), pin.channel);
  write(path.join(tmp, "default.nix"), `import ${path.join(nix, "nixpkgs")}\n`);
  write(path.join(tmp, "lib", "default.nix"), `import ${path.join(nix, "nixpkgs", "lib")}\n`);
  write(path.join(tmp, "nixos", "default.nix"), `import ${path.join(nix, "nixpkgs", "nixos")}\n`);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.renameSync(tmp, dir);
}

/**
 * The revision a nixpkgs tree holds: its .version-suffix, in the channel its
 * SIM_CHANNEL_FILE names (or the only channel with that suffix). Undefined when `dir` is
 * no simulated channel tree.
 */
export function readTreePin(dir: string, table: ChannelTable): ChannelPin | undefined {
  let suffix: string;
  try {
    suffix = fs.readFileSync(path.join(dir, ".version-suffix"), "utf8").trim();
  } catch {
    return undefined;
  }
  let channel: string | undefined;
  try {
    channel = fs.readFileSync(path.join(dir, SIM_CHANNEL_FILE), "utf8").trim();
  } catch {
    return pinBySuffix(table, suffix);
  }
  return lookupPin(table, { channel, suffix }) ? { channel, suffix } : undefined;
}

/** A channel as the channels profile holds it: its folder name and the store path it comes from. */
interface ProfileChannel {
  readonly name: string;
  /** nix-env's name for it, e.g. nixos-24.11. */
  readonly installedName: string;
  readonly storePath: string;
}

/** `nix-channel --update` unpacking one fetched channel: `<store>/<hash>-<installed name>/<name>/`. */
function unpackChannel(table: ChannelTable, entry: ChannelEntry, pin: ChannelPin, places: ChannelPlaces): ProfileChannel {
  const cname = installedName(entry);
  const storePath = path.posix.join(places.store, `${storeHash("channel", { cname, name: entry.name, pin })}-${cname}`);
  if (!fs.existsSync(storePath)) writeNixpkgsTree(path.join(storePath, entry.name), table, pin);
  return { name: entry.name, installedName: cname, storePath };
}

/** The channels in the profile's current generation. */
function profileChannels(places: ChannelPlaces): ProfileChannel[] {
  let names: string[];
  try {
    names = fs.readdirSync(places.profile);
  } catch {
    return [];
  }
  return names
    .filter((n) => n !== "manifest.nix")
    .map((name) => {
      const storePath = path.posix.dirname(fs.readlinkSync(path.join(places.profile, name)));
      return { name, installedName: path.basename(storePath).slice(33), storePath };
    });
}

/** nix-env installing exactly `channels` into the channels profile (a new generation when it differs). */
function installChannels(channels: readonly ProfileChannel[], places: ChannelPlaces): { generation: number; created: boolean } {
  const envPath = path.posix.join(places.store, `${storeHash("user-environment", channels.map((c) => [c.name, c.storePath]))}-user-environment`);
  if (!fs.existsSync(envPath)) {
    const tmp = `${envPath}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    for (const c of channels) fs.symlinkSync(path.posix.join(c.storePath, c.name), path.join(tmp, c.name));
    const manifest = channels.map((c) => `{ meta = { }; name = "${c.installedName}"; out = { outPath = "${c.storePath}"; }; outPath = "${c.storePath}"; outputs = [ "out" ]; system = "builtin"; type = "derivation"; }`);
    write(path.join(tmp, "manifest.nix"), `[ ${manifest.join(" ")} ]\n`);
    fs.renameSync(tmp, envPath);
  }
  return setProfile(places.profile, envPath);
}

export type ChannelUpdate =
  | { readonly ok: true; readonly generation: number; readonly created: boolean }
  /** Nix's error message (without "error: "); nothing was changed. */
  | { readonly ok: false; readonly message: string };

/**
 * `nix-channel --update [names]`: fetches the listed channels named in `names` (all when
 * empty), keeps the others as they are in the profile, and installs exactly the listed
 * channels as the profile's new generation. A failed download changes nothing.
 */
export function updateChannels(table: ChannelTable, names: readonly string[], places: ChannelPlaces = HOST_PLACES): ChannelUpdate {
  const current = new Map(profileChannels(places).map((c) => [c.name, c]));
  const fetched: Array<{ entry: ChannelEntry; pin?: ChannelPin; kept?: ProfileChannel }> = [];
  for (const entry of readChannelList(places.list)) {
    if (names.length === 0 || names.includes(entry.name)) {
      const download = fetchChannel(table, entry.url);
      if (!download.ok) return { ok: false, message: download.message };
      fetched.push({ entry, pin: download.pin });
    } else {
      const kept = current.get(entry.name);
      if (!kept) return { ok: false, message: `reading symbolic link '${path.join(places.profile, entry.name)}': No such file or directory` };
      fetched.push({ entry, kept: { ...kept, installedName: installedName(entry) } });
    }
  }
  const channels = fetched.map((f) => f.kept ?? unpackChannel(table, f.entry, f.pin as ChannelPin, places));
  return { ok: true, ...installChannels(channels, places) };
}

/**
 * `nix-env --uninstall name` on the channels profile, as `nix-channel --remove` runs it.
 * Returns nix-env's name of what it removed, if the profile had it.
 */
export function uninstallChannel(name: string, places: ChannelPlaces = HOST_PLACES): string | undefined {
  const channels = profileChannels(places);
  const doomed = channels.find((c) => c.name === name);
  if (doomed) installChannels(channels.filter((c) => c !== doomed), places);
  return doomed?.installedName;
}

/** The revision of the profile's `nixos` channel; undefined when there is none. */
export function currentChannel(table: ChannelTable, places: ChannelPlaces = HOST_PLACES): ChannelPin | undefined {
  return readTreePin(path.join(places.profile, "nixos"), table);
}

/**
 * What the installer leaves: root subscribed to the installed channel as `nixos`, and the
 * channels profile at its first revision. Either is made only when missing.
 */
export function ensureChannel(table: ChannelTable, places: ChannelPlaces = HOST_PLACES): void {
  if (!fs.existsSync(places.list)) writeChannelList([{ name: "nixos", url: `${CHANNELS_URL}/${table.installed}` }], places.list);
  if (fs.existsSync(places.profile)) return;
  const entry = readChannelList(places.list).find((e) => e.name === "nixos") ?? { name: "nixos", url: `${CHANNELS_URL}/${table.installed}` };
  installChannels([unpackChannel(table, entry, installPin(table), places)], places);
}
