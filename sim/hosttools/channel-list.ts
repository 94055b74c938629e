/**
 * root's list of subscribed channels, as nix-channel keeps it in ~/.nix-channels: one
 * "url name" line per channel. On a simulated host it lives in
 * /var/lib/nixos-sim/nix-channels, because /root is shared with the machine running the
 * simulation. Parsing and formatting are pure.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** A subscribed channel: the name it is installed under and the URL it is fetched from. */
export interface ChannelEntry {
  readonly name: string;
  readonly url: string;
}

/** Where a simulated host keeps root's channel list. */
export const CHANNEL_LIST = "/var/lib/nixos-sim/nix-channels";

/**
 * Parses a channel list the way nix-channel reads it: comment lines skipped, trailing
 * slashes dropped from the URL, a missing name is the URL's last path element; a later line
 * for the same name wins. Sorted by name, as nix-channel keeps them.
 */
export function parseChannelList(text: string): ChannelEntry[] {
  const byName = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "" || /^\s*#/.test(line)) continue;
    const [rawUrl, name] = line.trim().split(/\s+/);
    const url = rawUrl.replace(/\/+$/, "");
    byName.set(name ?? url.split("/").pop() ?? "", url);
  }
  return sortEntries([...byName].map(([name, url]) => ({ name, url })));
}

/** The list's text, one "url name" line each. */
export function formatChannelList(entries: readonly ChannelEntry[]): string {
  return sortEntries(entries).map((e) => `${e.url} ${e.name}\n`).join("");
}

function sortEntries(entries: readonly ChannelEntry[]): ChannelEntry[] {
  return [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Reads the list; none when the file does not exist. */
export function readChannelList(file: string = CHANNEL_LIST): ChannelEntry[] {
  try {
    return parseChannelList(fs.readFileSync(file, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

export function writeChannelList(entries: readonly ChannelEntry[], file: string = CHANNEL_LIST): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, formatChannelList(entries));
}

/** The name `nix-channel --add URL` gives a channel: the URL's last path element without -unstable/-stable. */
export function defaultChannelName(url: string): string {
  return (url.split("/").pop() ?? "").replace(/-unstable$/, "").replace(/-stable$/, "");
}

/**
 * The name a channel is installed under in the channels profile: nix-channel appends the
 * version part of the URL's last element (nixos + …/nixos-24.11 → nixos-24.11).
 */
export function installedName(entry: ChannelEntry): string {
  const m = /(-\d.*)$/.exec(entry.url.split("/").pop() ?? "");
  return m ? `${entry.name}${m[1]}` : entry.name;
}
