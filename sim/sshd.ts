/**
 * A simulated host's SSH daemon: the machine's real OpenSSH sshd, one per host, running in the
 * host's namespaces and listening on the host's address. What it allows follows the host's
 * activated configuration (host.ts: services.openssh.ports and PermitRootLogin here, root's
 * keys in the authorized keys file). Its log (LogLevel VERBOSE on stderr) is kept in <hostDir>/sshd/sshd.log and read
 * line by line to notice accepted sessions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { readOpensshSettings } from "./hosttools/openssh";
import { hostPaths } from "./layout";
import { nsenterArgs } from "./mounts";
import { exeOf, killAndWait, pidsInMountNamespace, refOf, runOk, waitFor, withDescendants, type ProcRef } from "./proc";

/** The machine's OpenSSH daemon (absolute: sshd re-executes itself by this path). */
export const SSHD = "/usr/sbin/sshd";

/** What goes into one host's sshd_config. */
export interface SshdConfig {
  readonly address: string;
  readonly port: number;
  /** services.openssh.ports, when they are not just `port`. */
  readonly ports?: readonly number[];
  /** services.openssh.settings.PermitRootLogin (default "prohibit-password"). */
  readonly permitRootLogin?: string;
  /** services.openssh.settings.MaxSessions (OpenSSH's default 10 when absent). */
  readonly maxSessions?: number;
  readonly hostKeyPath: string;
  readonly authorizedKeysPath: string;
  /** SetEnv of every session. */
  readonly env: Readonly<Record<string, string>>;
}

/** Writes an ed25519 key pair with ssh-keygen (the private key at `file`, the public at file.pub). */
export async function generateKey(file: string, comment: string): Promise<string> {
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.pub`, { force: true });
  await runOk("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  return fs.readFileSync(`${file}.pub`, "utf8").trim();
}

/** Quotes one sshd_config argument; sshd_config has no escape for a double quote, so none may appear. */
function configWord(s: string): string {
  if (/["\n\r]/.test(s)) throw new Error(`sshd_config cannot hold ${JSON.stringify(s)} (it contains a double quote or a newline)`);
  return `"${s}"`;
}

/** The text of a host's sshd_config. */
export function renderSshdConfig(c: SshdConfig): string {
  const setEnv = Object.entries(c.env).map(([k, v]) => configWord(`${k}=${v}`));
  const permit = c.permitRootLogin ?? "prohibit-password";
  if (!/^(yes|no|prohibit-password|without-password|forced-commands-only)$/.test(permit)) throw new Error(`PermitRootLogin ${JSON.stringify(permit)} is not a value sshd knows`);
  return [
    ...(c.ports ?? [c.port]).map((port) => `ListenAddress ${c.address}:${port}`),
    `HostKey ${configWord(c.hostKeyPath)}`,
    "PidFile none",
    `PermitRootLogin ${permit}`,
    ...(c.maxSessions === undefined ? [] : [`MaxSessions ${Math.trunc(c.maxSessions)}`]),
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    // The state folder's permissions are the developer's; the hosts are not a security boundary.
    "StrictModes no",
    `AuthorizedKeysFile ${configWord(c.authorizedKeysPath)}`,
    "PermitUserEnvironment no",
    "Subsystem sftp internal-sftp",
    `SetEnv ${setEnv.join(" ")}`,
    "LogLevel VERBOSE",
    "UseDNS no",
    "PrintMotd no",
    "PrintLastLog no",
    "MaxStartups 100:30:200",
    "",
  ].join("\n");
}

/** How a host's sshd runs for the system it follows. */
export interface SshdSetup {
  /** The sshd_config text; undefined when the system disables sshd. */
  readonly config: string | undefined;
  /** The first port (the one waited for). */
  readonly port: number;
  /** Root's authorized keys. */
  readonly rootKeys: readonly string[];
}

/**
 * The sshd of a host for the system at `system` (its store folder, reachable from outside the
 * host): services.openssh.enable, ports and PermitRootLogin into sshd_config, root's keys into
 * the authorized keys file. Without a system (never booted) the defaults of the install.
 */
export function sshdSetupFor(o: {
  hostDir: string;
  system: string | undefined;
  address: string;
  otherHostKey: boolean;
  env: Readonly<Record<string, string>>;
}): SshdSetup {
  const settings = o.system === undefined ? undefined : readOpensshSettings(o.system);
  const p = hostPaths(o.hostDir);
  const config =
    settings && !settings.enable
      ? undefined
      : renderSshdConfig({
          address: o.address,
          port: 22,
          ports: settings?.ports,
          permitRootLogin: settings?.permitRootLogin,
          maxSessions: settings?.maxSessions,
          hostKeyPath: path.join(p.sshd, o.otherHostKey ? "ssh_host_ed25519_key.other" : "ssh_host_ed25519_key"),
          authorizedKeysPath: path.join(p.sshd, "authorized_keys"),
          env: o.env,
        });
  return { config, port: settings?.ports[0] ?? 22, rootKeys: settings?.rootKeys ?? [] };
}

/** Writes root's authorized keys where the host's sshd reads them (at each login). */
export function writeAuthorizedKeys(hostDir: string, keys: readonly string[]): void {
  fs.writeFileSync(path.join(hostPaths(hostDir).sshd, "authorized_keys"), keys.map((k) => `${k}\n`).join(""));
}

/** An accepted SSH login as sshd logs it. */
export interface AcceptedSession {
  readonly user: string;
  readonly method: string;
  readonly from: string;
  readonly port: number;
}

/** Reads "Accepted publickey for root from 10.213.0.1 port 40000 ssh2: ED25519 SHA256:..." */
export function parseAccepted(line: string): AcceptedSession | undefined {
  const m = /Accepted (\S+) for (\S+) from (\S+) port (\d+)/.exec(line);
  return m ? { method: m[1], user: m[2], from: m[3], port: Number(m[4]) } : undefined;
}

/**
 * Kills every SSH session of a host: each connection's sshd processes and the commands running
 * under them, but not the listener (`listenerPid`, if one runs). Sessions outlive a stopped
 * listener, as on NixOS where stopping sshd.service leaves the sessions' scopes alone.
 * Resolves with the number of connections' processes killed.
 */
export async function dropSshSessions(mntNs: string, listenerPid: number | undefined): Promise<number> {
  const inHost = pidsInMountNamespace(mntNs);
  const sessions = inHost.filter((pid) => pid !== listenerPid && exeOf(pid) === SSHD);
  const victims = withDescendants(sessions, inHost)
    .map(refOf)
    .filter((r): r is ProcRef => r !== undefined);
  await killAndWait(victims, 5000, "the SSH sessions' processes");
  return sessions.length;
}

/** One running sshd listener. */
export class Sshd {
  private exited: string | undefined;
  private expectedExit = false;

  private constructor(readonly ref: ProcRef, private readonly child: ChildProcess) {}

  /**
   * Starts sshd in the host's namespaces and waits until it listens. `onLine` sees each log line;
   * `onUnexpectedExit` is told when sshd dies without being stopped.
   */
  static async start(o: {
    holder: ProcRef;
    configPath: string;
    logPath: string;
    address: string;
    port: number;
    onLine: (line: string) => void;
    onUnexpectedExit: (why: string) => void;
  }): Promise<Sshd> {
    fs.mkdirSync(path.dirname(o.logPath), { recursive: true });
    const log = fs.createWriteStream(o.logPath, { flags: "a" });
    const child = spawn("nsenter", [...nsenterArgs(o.holder), SSHD, "-D", "-e", "-f", o.configPath], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" },
    });
    const pid = child.pid;
    const ref = pid === undefined ? undefined : refOf(pid);
    if (pid === undefined || !ref) {
      log.end();
      throw new Error(`could not start ${SSHD} for ${o.address}`);
    }
    const sshd = new Sshd(ref, child);
    let listening = false;
    const tail: string[] = [];
    let partial = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      // The listener's sessions inherit its stderr: their last lines may come after it exited.
      if (!log.writableEnded) log.write(chunk);
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (line.includes("Server listening on")) listening = true;
        o.onLine(line);
      }
    });
    // "close" comes once nothing holds its stderr open any more, so the log gets every line.
    child.on("close", () => log.end());
    child.on("exit", (code, signal) => {
      sshd.exited = `exited with ${code === null ? `signal ${signal}` : `code ${code}`}`;
      if (!sshd.expectedExit && listening) o.onUnexpectedExit(sshd.exited);
    });
    try {
      await waitFor(
        () => {
          if (sshd.exited) throw new Error(`sshd for ${o.address}:${o.port} ${sshd.exited} before listening: ${tail.join(" | ")}`);
          return listening;
        },
        10_000,
        `sshd to listen on ${o.address}:${o.port} (log: ${o.logPath})`,
      );
    } catch (error) {
      await sshd.stop();
      throw error;
    }
    return sshd;
  }

  get running(): boolean {
    return this.exited === undefined;
  }

  /**
   * Kills every SSH session: each connection's sshd processes and the commands running under
   * them. The listener stays, so new connections are accepted at once. Resolves with the number
   * of connections' processes killed.
   */
  dropSessions(mntNs: string): Promise<number> {
    return dropSshSessions(mntNs, this.ref.pid);
  }

  /** Stops the listener (SIGTERM, then SIGKILL after a grace period); sessions are left alone. */
  async stop(): Promise<void> {
    this.expectedExit = true;
    if (this.exited) return;
    this.child.kill("SIGTERM");
    try {
      await waitFor(() => this.exited !== undefined, 2000, "sshd to stop after SIGTERM");
    } catch {
      this.child.kill("SIGKILL");
      await waitFor(() => this.exited !== undefined, 3000, `sshd (pid ${this.ref.pid}) to die after SIGKILL`);
    }
  }

  /** Marks the coming exit as expected (the host's processes are being killed wholesale). */
  expectExit(): void {
    this.expectedExit = true;
  }
}
