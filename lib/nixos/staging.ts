/**
 * Where a host's configuration is staged and built before its activation: a folder per
 * configuration under STAGING_ROOT, named by a hash of the rendered files, so that the same
 * files always stage to the same place and a build never touches /etc/nixos. Pure: names and
 * hashes only; the host-side work is in sshOps.ts.
 */
import { createHash } from "node:crypto";
import { FLEET_STATE_DIR } from "../rollout/remote";
import type { StagedBuild } from "../rollout/spec";
import type { ChannelPin } from "./channel";
import type { FlakePin } from "./flake";
import type { LiveFiles } from "./ops";

/** Staging folders of the host, one per configuration built and not yet superseded. */
export const STAGING_ROOT = `${FLEET_STATE_DIR}/staging`;

/** "sha256:<hex>" of one file's contents: what the state keeps instead of the contents. */
export function contentHash(content: string): string {
  return `sha256:${createHash("sha256").update(content, "utf8").digest("hex")}`;
}

/** The hash of every rendered file, by name. */
export function fileHashes(files: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(files).sort()) out[name] = contentHash(files[name]);
  return out;
}

/**
 * The hash of a whole configuration: its file names and contents, in name order, and the
 * channel it is built from (the same files from another channel are another system), or the
 * flake configuration (another entry of the same flake is another system).
 */
export function configurationHash(files: Readonly<Record<string, string>>, channel?: ChannelPin, flake?: FlakePin): string {
  const h = createHash("sha256");
  for (const [name, hash] of Object.entries(fileHashes(files))) h.update(`${name}\0${hash}\n`);
  if (channel) h.update(`\0channel\0${channel.url}\0${channel.upgradeToken}\n`);
  if (flake) h.update(`\0flake\0${flake.configuration}\n`);
  return h.digest("hex").slice(0, 32);
}

/** The staging folder of a configuration. */
export function stagingDirFor(files: Readonly<Record<string, string>>, channel?: ChannelPin, flake?: FlakePin): string {
  return `${STAGING_ROOT}/${configurationHash(files, channel, flake)}`;
}

/** Whether `dir` is a staging folder this tool names (refuses anything it did not make). */
export function isStagingDir(dir: string): boolean {
  return new RegExp(`^${STAGING_ROOT}/[0-9a-f]{32}$`).test(dir);
}

/** Names of staged files that are missing or differ from what was built (their hashes). */
export function stagedMismatches(staged: StagedBuild, live: Readonly<LiveFiles>): string[] {
  return Object.keys(staged.fileHashes)
    .sort()
    .filter((n) => {
      const content = live[n];
      return content === null || content === undefined || contentHash(content) !== staged.fileHashes[n];
    });
}

