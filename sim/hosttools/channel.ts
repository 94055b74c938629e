/**
 * The `nixos` channel of a simulated host. Like on NixOS, root's channels profile
 * (/nix/var/nix/profiles/per-user/root/channels) points to a store path whose `nixos`
 * folder carries .version-suffix and .git-revision; the revisions that exist are listed
 * in sim/nix/channels.json. `nixos-rebuild --upgrade` moves to the next revision.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { HOST, simNixDir } from "./paths";
import { setProfile } from "./profile";
import { storeHash } from "./storehash";

export interface ChannelRevision {
  readonly suffix: string;
  readonly rev: string;
  readonly kernels: Readonly<Record<string, string>>;
  readonly defaultKernel: string;
}

export interface ChannelTable {
  readonly release: string;
  readonly codeName: string;
  readonly revisions: readonly ChannelRevision[];
}

/** Where a host keeps its channel (real paths on the host by default). */
export interface ChannelPlaces {
  readonly store: string;
  readonly profile: string;
}

const HOST_PLACES: ChannelPlaces = { store: HOST.store, profile: HOST.channelsProfile };

/** sim/nix/channels.json. */
export function loadChannelTable(): ChannelTable {
  return JSON.parse(fs.readFileSync(path.join(simNixDir(), "channels.json"), "utf8")) as ChannelTable;
}

/** The revision the host's channel profile points at; the first one when there is none. */
export function currentChannel(table: ChannelTable, places: ChannelPlaces = HOST_PLACES): ChannelRevision {
  let suffix: string;
  try {
    suffix = fs.readFileSync(path.join(places.profile, "nixos", ".version-suffix"), "utf8").trim();
  } catch {
    return table.revisions[0];
  }
  const found = table.revisions.find((r) => r.suffix === suffix);
  if (!found) {
    throw new Error(`the nixos channel of this host is at ${table.release}${suffix}, which is not a revision listed in sim/nix/channels.json`);
  }
  return found;
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** Makes `revision` the channel profile's current generation (creating store paths as needed). */
export function setChannel(table: ChannelTable, revision: ChannelRevision, places: ChannelPlaces = HOST_PLACES): { generation: number; created: boolean } {
  const name = `nixos-${table.release}${revision.suffix}`;
  const channelPath = path.posix.join(places.store, `${storeHash("channel", revision)}-${name}`);
  if (!fs.existsSync(channelPath)) {
    write(path.join(channelPath, "nixos", ".version"), table.release);
    write(path.join(channelPath, "nixos", ".version-suffix"), revision.suffix);
    write(path.join(channelPath, "nixos", ".git-revision"), revision.rev);
    write(path.join(channelPath, "nixos", "default.nix"), `import ${path.join(simNixDir(), "nixpkgs")}\n`);
  }
  const envPath = path.posix.join(places.store, `${storeHash("user-environment", channelPath)}-user-environment`);
  if (!fs.existsSync(envPath)) {
    fs.mkdirSync(envPath, { recursive: true });
    fs.symlinkSync(path.posix.join(channelPath, "nixos"), path.join(envPath, "nixos"));
    write(path.join(envPath, "manifest.nix"), `[ { meta = { }; name = "${name}"; out = { outPath = "${channelPath}"; }; outPath = "${channelPath}"; outputs = [ "out" ]; system = "builtin"; type = "derivation"; } ]\n`);
  }
  return setProfile(places.profile, envPath);
}

/** Creates the channel profile at the first revision if the host has none. */
export function ensureChannel(table: ChannelTable, places: ChannelPlaces = HOST_PLACES): void {
  if (!fs.existsSync(places.profile)) setChannel(table, table.revisions[0], places);
}

/** `nix-channel --update nixos`: the next revision, if there is a newer one. */
export function upgradeChannel(table: ChannelTable, places: ChannelPlaces = HOST_PLACES): { from: ChannelRevision; to: ChannelRevision } {
  const from = currentChannel(table, places);
  const index = table.revisions.indexOf(from);
  const to = table.revisions[Math.min(index + 1, table.revisions.length - 1)];
  setChannel(table, to, places);
  return { from, to };
}
