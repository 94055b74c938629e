/** Reading `pulumi preview --diff` output: one resource's block, and one host's part of the FleetBuild's or its shared files. */

/** The lines of one resource's diff, from its header ("~ …:NixosHost: (update)") up to the next resource's header. */
export function resourceBlock(stdout: string, type: string, name: string): string {
  const blocks = stdout.split(/\n(?=\s+[~+-]? ?[\w-]+:[^\n]*: \((?:update|create|same|delete|replace)\))/);
  return blocks.find((b) => b.includes(`${type}::${name}]`)) ?? "";
}

/**
 * The lines of `host`'s entry under the FleetBuild's `hosts` ("~ srv1: {" and what is indented
 * under it), or "" when the preview shows no change of it.
 */
export function fleetBuildHost(stdout: string, host: string): string {
  return fleetBuildEntry(stdout, host);
}

/** The lines of the FleetBuild's `sharedFiles` (the files every host renders alike), or "" when the preview shows no change of them. */
export function fleetBuildShared(stdout: string): string {
  return fleetBuildEntry(stdout, "sharedFiles");
}

/** The lines of the FleetBuild's entry `key` ("~ key: {" and what is indented under it), or "". */
function fleetBuildEntry(stdout: string, key: string): string {
  const lines = resourceBlock(stdout, "FleetBuild", "fleet").split("\n");
  const start = lines.findIndex((l) => new RegExp(`^\\s*[~+-] ${key}\\s*: \\{`).test(l));
  if (start < 0) return "";
  const indent = (l: string) => /^\s*/.exec(l)?.[0].length ?? 0;
  const own = indent(lines[start]);
  const end = lines.findIndex((l, i) => i > start && l.trim() !== "" && indent(l) <= own);
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}
