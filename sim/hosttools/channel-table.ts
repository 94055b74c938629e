/**
 * The NixOS channels a simulated host can fetch, from sim/nix/channels.json: each channel
 * (e.g. nixos-24.11) has a release, a code name and its revisions, oldest first. A channel
 * server serves its latest revision. No network is ever used: a channel is named by its
 * URL, and a name the table does not know fails the way a download answered with HTTP 404
 * does. Everything here except loadChannelTable is pure.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { simNixDir } from "./paths";
import { nixBase32 } from "./storehash";

export interface ChannelRevision {
  /** `.version-suffix`, e.g. ".20241130.abc1234". */
  readonly suffix: string;
  /** `.git-revision`: the nixpkgs commit. */
  readonly rev: string;
  readonly kernels: Readonly<Record<string, string>>;
  readonly defaultKernel: string;
  readonly latestKernel: string;
  readonly k3s: string;
  readonly kubernetes: string;
}

/** One channel: a NixOS release and its revisions, oldest first. */
export interface ChannelRelease {
  readonly release: string;
  readonly codeName: string;
  readonly revisions: readonly ChannelRevision[];
}

export interface ChannelTable {
  /** The channel a freshly installed host is subscribed to (at its first revision). */
  readonly installed: string;
  readonly channels: Readonly<Record<string, ChannelRelease>>;
}

/** One revision of one channel: what a nixpkgs tree on a simulated host holds. */
export interface ChannelPin {
  readonly channel: string;
  readonly suffix: string;
}

/** Where the official channels live; a fresh host's `nixos` channel is `${CHANNELS_URL}/nixos-24.05`. */
export const CHANNELS_URL = "https://nixos.org/channels";

/** The tarball a channel URL serves its Nix expressions in. */
export const CHANNEL_TARBALL = "nixexprs.tar.xz";

/** sim/nix/channels.json. */
export function loadChannelTable(): ChannelTable {
  return JSON.parse(fs.readFileSync(path.join(simNixDir(), "channels.json"), "utf8")) as ChannelTable;
}

/** True for what Nix treats as a URL in a search path or a channel list. */
export function isUrl(s: string): boolean {
  return /^(https?|file):\/\//.test(s) || s.startsWith("channel:");
}

/**
 * The channel a URL names: its last path element (…/channels/nixos-24.11), or the one before
 * the tarball (…/nixos-24.11/nixexprs.tar.xz); `channel:nixos-24.11` is Nix's short form.
 * Undefined when the URL has no path element to name a channel by.
 */
export function channelOfUrl(url: string): string | undefined {
  if (url.startsWith("channel:")) return url.slice("channel:".length) || undefined;
  const m = /^[a-z]+:\/\/[^/]*(\/[^?#]*)?/.exec(url);
  if (!m) return undefined;
  const parts = (m[1] ?? "").split("/").filter((p) => p !== "");
  if (parts[parts.length - 1] === CHANNEL_TARBALL) parts.pop();
  return parts[parts.length - 1];
}

/** The URL Nix downloads for a search path entry: `channel:NAME` is the official channel's tarball. */
export function resolvePseudoUrl(url: string): string {
  return url.startsWith("channel:") ? `${CHANNELS_URL}/${url.slice("channel:".length)}/${CHANNEL_TARBALL}` : url;
}

/** What a channel server serves: the latest revision of the named channel. */
export function latestPin(table: ChannelTable, channel: string): ChannelPin | undefined {
  const revisions = table.channels[channel]?.revisions ?? [];
  const last = revisions[revisions.length - 1];
  return last && { channel, suffix: last.suffix };
}

/** The revision a freshly installed host's channel is at. */
export function installPin(table: ChannelTable): ChannelPin {
  const first = table.channels[table.installed]?.revisions[0];
  if (!first) throw new Error(`sim/nix/channels.json: the installed channel '${table.installed}' has no revisions`);
  return { channel: table.installed, suffix: first.suffix };
}

/** The release and revision a pin names, if the table has them. */
export function lookupPin(table: ChannelTable, pin: ChannelPin): { release: ChannelRelease; revision: ChannelRevision } | undefined {
  const release = table.channels[pin.channel];
  const revision = release?.revisions.find((r) => r.suffix === pin.suffix);
  return release && revision ? { release, revision } : undefined;
}

/** The channel holding a revision suffix, when exactly one channel has it. */
export function pinBySuffix(table: ChannelTable, suffix: string): ChannelPin | undefined {
  const channels = Object.keys(table.channels).filter((c) => table.channels[c].revisions.some((r) => r.suffix === suffix));
  return channels.length === 1 ? { channel: channels[0], suffix } : undefined;
}

/** NixOS's version string of a pinned revision, e.g. "24.11.20241130.abc1234". */
export function versionOf(table: ChannelTable, pin: ChannelPin): string {
  const found = lookupPin(table, pin);
  return found ? `${found.release.release}${pin.suffix}` : `${pin.channel}${pin.suffix}`;
}

/** Nix's message for a download the server answered with 404 (without "error: "). */
export function notFoundMessage(url: string): string {
  return `unable to download '${url}': HTTP error 404`;
}

export type ChannelFetch =
  | { readonly ok: true; readonly pin: ChannelPin }
  | { readonly ok: false; readonly message: string };

/** Downloading `url`: the latest revision of the channel it names, or Nix's 404 error. */
export function fetchChannel(table: ChannelTable, url: string): ChannelFetch {
  const name = channelOfUrl(url);
  const pin = name === undefined ? undefined : latestPin(table, name);
  return pin ? { ok: true, pin } : { ok: false, message: notFoundMessage(resolvePseudoUrl(url)) };
}

/** The sha256 (Nix base-32) of a revision's unpacked tarball: the same for the same revision. */
export function tarballHash(pin: ChannelPin): string {
  return nixBase32(createHash("sha256").update(`nixexprs\0${pin.channel}\0${pin.suffix}`).digest());
}

/** How NIXOS_SIM_CHANNEL carries a pin to sim/nix/channel.nix. */
export function pinEnv(pin: ChannelPin | undefined): string {
  return pin ? JSON.stringify({ channel: pin.channel, suffix: pin.suffix }) : "";
}
