/**
 * The journal of a simulated host: one JSON line per message in /var/lib/nixos-sim/journal.jsonl.
 * It lives on the host's persistent /var/lib, as NixOS keeps a persistent journal in
 * /var/log/journal, and every entry carries the boot it was written in (journalctl -b).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Where the journal is kept on the host. */
export const JOURNAL_FILE = "/var/lib/nixos-sim/journal.jsonl";
const BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id";

/** One journal entry. */
export interface JournalEntry {
  /** Milliseconds since the epoch. */
  readonly t: number;
  /** The boot id, as /proc/sys/kernel/random/boot_id says. */
  readonly boot: string;
  /** The unit the message is about (_SYSTEMD_UNIT, or UNIT for PID 1's own messages). */
  readonly unit: string;
  /** SYSLOG_IDENTIFIER: "systemd" for PID 1, else the program's name. */
  readonly ident: string;
  readonly pid: number;
  readonly msg: string;
}

/** The current boot id ("" when unknown). */
export function currentBootId(): string {
  try {
    return fs.readFileSync(BOOT_ID_FILE, "utf8").trim();
  } catch {
    return "";
  }
}

/** Appends entries (each a line of its own: appends of one line do not interleave). */
export function appendJournal(entries: readonly Omit<JournalEntry, "t" | "boot">[], file: string = JOURNAL_FILE): void {
  if (entries.length === 0) return;
  const boot = currentBootId();
  const t = Date.now();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, entries.map((e) => `${JSON.stringify({ t, boot, ...e })}\n`).join(""));
}

/** A message of PID 1 about `unit`. */
export function systemdSays(unit: string, msg: string): Omit<JournalEntry, "t" | "boot"> {
  return { unit, ident: "systemd", pid: 1, msg };
}

/** Every entry, oldest first (a torn last line is skipped). */
export function readJournal(file: string = JOURNAL_FILE): JournalEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      // A line being written right now.
    }
  }
  return out;
}
