/**
 * Shell building blocks of a rollout over the Host interface: run a command as a step, read
 * and write files atomically, and the host-side lock. What is NixOS-specific (systems,
 * profile, activation) lives in lib/nixos/.
 */
import type { ExecOptions, ExecResult, Host } from "../host/host";
import { shellQuote } from "../host/quote";
import type { LiveFiles } from "../nixos/ops";
import { RolloutError, type Step } from "./errors";

export const ETC_NIXOS = "/etc/nixos";
export const FLEET_STATE_DIR = "/var/lib/nixos-fleet";
export const LOCK_DIR = `${FLEET_STATE_DIR}/lock`;

/** Runs a command and turns a non-zero exit into a RolloutError of `step`. */
export async function run(host: Host, step: Step, command: string, options?: ExecOptions & { hint?: string; what?: string }): Promise<ExecResult> {
  const result = await host.exec(command, options);
  if (result.code !== 0) {
    throw new RolloutError(host.name, step, options?.what ?? `\`${command.split("\n")[0]}\` failed`, options?.hint, {
      command: command.split("\n")[0],
      exitCode: result.code,
      output: result.stdout + result.stderr,
    });
  }
  return result;
}

export type { BootFacts, LiveFiles, SystemState } from "../nixos/ops";
export { readSystemState, SYSTEM_PROFILE } from "../nixos/systems";

/**
 * Reads files (paths relative to `dir`) in one round trip. Each file travels base64-encoded
 * after a header line, so any content survives.
 */
export async function readFiles(host: Host, names: readonly string[], dir = ETC_NIXOS): Promise<LiveFiles> {
  const out: LiveFiles = {};
  if (names.length === 0) return out;
  const script = names
    .map((n, i) => {
      const p = shellQuote(`${dir}/${n}`);
      return `if [ -f ${p} ]; then echo "@@file ${i} 1"; base64 < ${p}; else echo "@@file ${i} 0"; fi`;
    })
    .join("\n");
  const { stdout } = await run(host, "read", script);
  let current: { name: string; chunks: string[] } | undefined;
  const flush = () => {
    if (current) out[current.name] = Buffer.from(current.chunks.join(""), "base64").toString("utf8");
  };
  for (const line of stdout.split("\n")) {
    const m = /^@@file (\d+) ([01])$/.exec(line);
    if (m) {
      flush();
      const name = names[Number(m[1])];
      current = m[2] === "1" ? { name, chunks: [] } : undefined;
      if (m[2] === "0") out[name] = null;
    } else if (current) {
      current.chunks.push(line.trim());
    }
  }
  flush();
  return out;
}

/** How a set of files is written: mode and umask of the files and folders created. */
export interface WriteMode {
  readonly fileMode: "0644" | "0600";
  readonly umask: "022" | "077";
}

/** Ends the here-documents of writeFilesAtomically; base64 text never contains it. */
const EOF_MARK = "__NIXOS_FLEET_EOF__";

/**
 * Writes files atomically, in one round trip: each goes to a temporary name beside its target
 * first; only when every one is written are they renamed into place. `null` removes a file
 * (and the folders it leaves empty, up to `dir`). The script travels on standard input, so
 * the size of the files does not matter.
 */
export async function writeFilesAtomically(
  host: Host,
  dir: string,
  files: Readonly<Record<string, string | null>>,
  mode: WriteMode,
  step: Step = "write",
): Promise<void> {
  const names = Object.keys(files).sort();
  if (names.length === 0) return;
  const lines = ["set -e", `umask ${mode.umask}`];
  for (const name of names) {
    const content = files[name];
    if (content === null) continue;
    const tmp = shellQuote(`${dir}/${name}.nixos-fleet-new`);
    lines.push(
      `mkdir -p "$(dirname ${tmp})"`,
      `base64 -d > ${tmp} <<'${EOF_MARK}'`,
      Buffer.from(content, "utf8").toString("base64").replace(/.{76}/g, "$&\n"),
      EOF_MARK,
      `chmod ${mode.fileMode} ${tmp}`,
    );
  }
  const top = shellQuote(dir === "" ? "/" : dir);
  for (const name of names) {
    const target = shellQuote(`${dir}/${name}`);
    if (files[name] !== null) lines.push(`mv -f ${shellQuote(`${dir}/${name}.nixos-fleet-new`)} ${target}`);
    else lines.push(`rm -f ${target}`, `d=$(dirname ${target}); while [ "$d" != ${top} ] && rmdir "$d" 2>/dev/null; do d=$(dirname "$d"); done`);
  }
  lines.push("sync");
  await run(host, step, "sh -s", {
    stdin: lines.join("\n") + "\n",
    what: `writing ${names.join(", ")} under ${dir || "/"} failed`,
    hint: `check free space and permissions under ${dir || "/"} on the host.`,
  });
}
