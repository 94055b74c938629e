/**
 * The NixOS channel a host is pinned to (inventory nix.channel), and the shell that fetches it
 * and sets it on the host. Pure: URLs, names and scripts; sshOps.ts runs the scripts.
 *
 * A build ahead must not change anything the host runs or will build from, so it does not touch
 * root's channels: it fetches the channel into the store (`nix-prefetch-url --unpack`, which
 * fails loudly on a channel that does not exist) and builds with `-I nixpkgs=<that tree>`. Only
 * once the host runs the new system and passed its gates is its `nixos` channel set (`nix-channel
 * --add` and `--update`), so that the host's own `nixos-rebuild` stays on the channel it runs.
 *
 * Why not `-I nixpkgs=<channel URL>`: when Nix cannot download a search path entry it warns and
 * ignores it, and the build would quietly use the host's old channel.
 */
import { shellQuote } from "../host/quote";
import { FLEET_STATE_DIR } from "../rollout/remote";
import { noFlakeGuard } from "./flake";

/** Where channel names are served from: `nixos-24.11` is https://nixos.org/channels/nixos-24.11. */
export const CHANNELS_BASE = "https://nixos.org/channels";

/** A host's channel: where it is fetched from, and the token whose change asks for a fresh fetch. */
export interface ChannelPin {
  /** The channel's URL (https://nixos.org/channels/nixos-24.11). */
  readonly url: string;
  /** Changing it re-fetches the channel (an upgrade on the same channel); "" when never set. */
  readonly upgradeToken: string;
}

/** A channel name as nixos.org names channels: nixos-24.11, nixos-unstable, nixpkgs-unstable, nixos-24.11-small. */
const CHANNEL_NAME = /^[a-z][a-z0-9]*(-[a-z0-9.]+)+$/;

/** Why `ref` is not a channel (a name or an https URL); undefined when it is one. */
export function channelRefProblem(ref: string): string | undefined {
  if (CHANNEL_NAME.test(ref)) return undefined;
  if (/^https:\/\/[^\s/]+\/\S+[^/]$/.test(ref)) return undefined;
  return "is not a NixOS channel: give a channel name such as nixos-24.11 or nixos-unstable, or the channel's https URL without a trailing slash";
}

/** The URL of a channel given by name or URL. */
export function channelUrl(ref: string): string {
  return CHANNEL_NAME.test(ref) ? `${CHANNELS_BASE}/${ref}` : ref;
}

/** The channel's short name, as nix-channel names it: the URL's last path element. */
export function channelName(url: string): string {
  return url.replace(/\/+$/, "").split("/").pop() ?? url;
}

/** The channel's Nix expressions, as `nix-channel --update` fetches them. */
export function channelTarball(url: string): string {
  return `${url}/nixexprs.tar.xz`;
}

/** The channel's fetched tree in a build folder: a link that also keeps it from garbage collection. */
export const FETCHED_CHANNEL = "nixpkgs";

/**
 * The shell of a build from channel `pin`: fetch the channel's tree into the store (a missing
 * channel fails here, with Nix's download error) and build `configuration` against it. Runs in
 * the build folder, where `./nixpkgs` then names the tree the system was built from.
 */
export function channelBuildScript(pin: ChannelPin, buildArgs: readonly string[], etcNixos?: string): string {
  const tarball = shellQuote(channelTarball(pin.url));
  return [
    "set -e",
    noFlakeGuard(etcNixos),
    `echo "fetching the channel ${channelName(pin.url)} (${pin.url})" >&2`,
    // An assignment fails with its command substitution, so a failed download stops the script here.
    `printed=$(nix-prefetch-url --unpack --print-path ${tarball})`,
    `fetched=$(printf '%s\\n' "$printed" | tail -n 1)`,
    '[ -d "$fetched" ] || { echo "nix-prefetch-url printed no store path" >&2; exit 1; }',
    `ln -sfn "$fetched" ${FETCHED_CHANNEL}`,
    `exec nixos-rebuild build $no_flake -I nixpkgs="$fetched" ${buildArgs.map(shellQuote).join(" ")}`.trimEnd(),
  ].join("\n");
}

/** Where the host records the upgrade token its channel was last set with. */
export const CHANNEL_TOKEN_FILE = `${FLEET_STATE_DIR}/channel-token`;

/**
 * Sets the host's `nixos` channel to `pin` unless it is set already (same URL, same token), and
 * prints `unchanged` or `set <previous URL>`. A failed update puts the previous URL back, so the
 * channel list never names a channel the profile does not hold.
 */
export function setChannelScript(pin: ChannelPin, tokenFile: string = CHANNEL_TOKEN_FILE): string {
  const url = shellQuote(pin.url);
  const token = shellQuote(pin.upgradeToken);
  const file = shellQuote(tokenFile);
  return [
    "set -e",
    `have=$(nix-channel --list | awk '$1 == "nixos" { print $2 }')`,
    `have_token=$(cat ${file} 2>/dev/null || true)`,
    `if [ "$have" = ${url} ] && [ "$have_token" = ${token} ]; then echo unchanged; exit 0; fi`,
    `nix-channel --add ${url} nixos`,
    "if ! nix-channel --update nixos >&2; then",
    '  if [ -n "$have" ]; then nix-channel --add "$have" nixos; else nix-channel --remove nixos; fi',
    "  exit 1",
    "fi",
    `mkdir -p "$(dirname ${file})"`,
    `printf '%s' ${token} > ${file}.tmp && mv ${file}.tmp ${file}`,
    'echo "set ${have:-none}"',
  ].join("\n");
}

/** What setChannelScript printed: whether it changed the channel, and what was there before. */
export function parseSetChannel(stdout: string): { changed: false } | { changed: true; previous: string } {
  const line = stdout.trim().split("\n").pop() ?? "";
  if (line === "unchanged") return { changed: false };
  const m = /^set (.*)$/.exec(line);
  if (!m) throw new Error(`unexpected output of the channel update: ${JSON.stringify(stdout.slice(-200))}`);
  return { changed: true, previous: m[1] };
}
