/**
 * Runs the host tools for real, the way the fleet will: a temporary host folder whose fs/
 * folders are bind-mounted over the real NixOS paths in a private mount namespace
 * (unshare), the session environment of sim/layout.ts, and a small control-socket server
 * that records events and answers reboot and drop-sessions.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { ENV, HOST_MOUNTS, SESSION_PATH, hostPaths } from "../../sim/layout";
import { ensureMountpoints, releaseMountpoints } from "../../sim/mounts";
import type { EventBody } from "../../sim/protocol";
import type { FaultName } from "../../sim/types";
import { initialConfiguration, readBootTarget, toolsDir, writeBootState } from "../../sim/hosttools";

/** Fails (never skips) when the machine lacks what these tests exercise. */
export function requireTools(): void {
  for (const tool of ["/usr/bin/nix-instantiate", "/usr/bin/nix-env"]) {
    if (!fs.existsSync(tool)) throw new Error(`${tool} is missing: install Debian's nix-bin`);
  }
  if (spawnSync("unshare", ["--version"]).status !== 0) throw new Error("unshare (util-linux) is missing or not runnable");
  if (process.getuid?.() !== 0) throw new Error("these tests create mount namespaces and need root");
}

export interface RecordedEvent extends EventBody {
  readonly host: string;
  /** When the event arrived (milliseconds since the epoch), as the fleet's timeline stamps it. */
  readonly t: number;
}

/** The fleet's control socket, reduced to what the host tools call. */
export class ControlServer {
  readonly events: RecordedEvent[] = [];
  readonly calls: string[] = [];
  /** Process groups of running sessions, killed by drop-sessions. */
  readonly sessions = new Set<number>();
  private server?: http.Server;

  constructor(readonly socketPath: string) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const m = /^\/hosts\/([^/]+)\/(events|reboot|drop-sessions|services)$/.exec(req.url ?? "");
        if (req.method !== "POST" || !m) {
          res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
          return;
        }
        const host = decodeURIComponent(m[1]);
        this.calls.push(`${m[2]} ${host}`);
        if (m[2] === "events") {
          this.events.push({ host, t: Date.now(), ...(JSON.parse(Buffer.concat(chunks).toString("utf8")) as EventBody) });
          res.writeHead(204).end();
        } else if (m[2] === "reboot") {
          res.writeHead(202).end();
        } else if (m[2] === "services") {
          res.writeHead(204).end();
        } else {
          res.writeHead(204).end();
          for (const pgid of this.sessions) killGroup(pgid);
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once("error", reject);
      this.server?.listen(this.socketPath, resolve);
    });
  }

  eventsOf(kind: string): RecordedEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The shell that enters a host: bind mounts, then the command in the session environment. */
const ENTER = `
H=$0
for m in $MOUNTS; do
  src=\${m%%=*}; dst=\${m#*=}
  mount -n --bind "$H/$src" "$dst" || exit 99
done
cd "$SESSION_CWD" || exit 98
exec sh -c "$SESSION_COMMAND"
`;

/** One simulated host in a temporary folder. */
export class TestHost {
  readonly dir: string;

  constructor(root: string, readonly name: string, private readonly control: ControlServer) {
    this.dir = path.join(root, name);
    for (const m of HOST_MOUNTS) {
      const src = path.join(this.dir, m.source);
      if (m.file) {
        fs.mkdirSync(path.dirname(src), { recursive: true });
        // The boot writes the kernel's files and os-release; a boot_id is there from the start.
        fs.writeFileSync(src, m.target.endsWith("/boot_id") ? "00000000-0000-4000-8000-000000000001\n" : "");
      } else {
        fs.mkdirSync(src, { recursive: true });
      }
    }
    for (const [file, text] of Object.entries(initialConfiguration(name, { authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest root@fleet"] }))) {
      fs.writeFileSync(path.join(this.paths.etcNixos, file), text);
    }
  }

  get paths(): ReturnType<typeof hostPaths> {
    return hostPaths(this.dir);
  }

  /** Runs `command` with sh inside the host, as an SSH session would. */
  run(command: string, options: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const mounts = HOST_MOUNTS.map((m) => `${m.source}=${m.target}`).join(" ");
    const env: NodeJS.ProcessEnv = {
      PATH: SESSION_PATH,
      HOME: "/root",
      TZ: process.env.TZ ?? "UTC",
      MOUNTS: mounts,
      SESSION_CWD: options.cwd ?? "/var/lib",
      SESSION_COMMAND: command,
      [ENV.host]: this.name,
      [ENV.hostDir]: this.dir,
      [ENV.control]: this.control.socketPath,
      [ENV.toolsDir]: toolsDir(),
    };
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const child = spawn("unshare", ["--mount", "--propagation", "private", "--", "sh", "-c", ENTER, this.dir], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
      const pgid = child.pid as number;
      this.control.sessions.add(pgid);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (c: Buffer) => out.push(c));
      child.stderr.on("data", (c: Buffer) => err.push(c));
      const timer = setTimeout(() => {
        killGroup(pgid);
        reject(new Error(`${this.name}: \`${command}\` did not finish within ${timeoutMs} ms; stderr: ${Buffer.concat(err).toString("utf8").slice(-2000)}`));
      }, timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        this.control.sessions.delete(pgid);
        killGroup(pgid);
        resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
      });
    });
  }

  /** Runs `command` and fails with its output unless it exits 0. */
  async ok(command: string, options: { cwd?: string } = {}): Promise<RunResult> {
    const r = await this.run(command, options);
    if (r.code !== 0) throw new Error(`${this.name}: \`${command}\` exited ${r.code ?? r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    return r;
  }

  /** Generation 1 from the initial configuration, then a boot into it. */
  async bootstrap(settleMs = 0): Promise<void> {
    await this.ok(`node ${path.join(toolsDir(), "bootstrap.js")}`);
    this.boot(settleMs);
  }

  /** What the fleet does at boot: /run for the loader's default system. */
  boot(settleMs = 0, bootedAtMs = Date.now(), buildMs = 0): string {
    const target = readBootTarget(this.dir);
    if (!target) throw new Error(`${this.name}: no boot loader installed`);
    writeBootState(this.dir, {
      system: target.entry.system,
      bootedAtMs,
      timings: { downMs: 0, slowBootMs: 0, systemdSettleMs: settleMs, kubeletReadyMs: 0, podTerminationMs: 0, rescheduleMs: 0, buildMs },
    });
    return target.entry.system;
  }

  setFaults(faults: readonly FaultName[]): void {
    fs.writeFileSync(this.paths.faults, JSON.stringify({ faults }));
  }

  readConfig(): string {
    return fs.readFileSync(path.join(this.paths.etcNixos, "configuration.nix"), "utf8");
  }

  /** Rewrites configuration.nix: `edit` gets and returns its text. */
  editConfig(edit: (text: string) => string): void {
    fs.writeFileSync(path.join(this.paths.etcNixos, "configuration.nix"), edit(this.readConfig()));
  }

  /** Adds lines just before the closing brace of configuration.nix. */
  addToConfig(lines: string): void {
    this.editConfig((t) => t.replace(/}\s*$/, `${lines}\n}\n`));
  }

  /** Where a host symlink (e.g. fs/run/current-system) points, as the host sees it. */
  link(rel: string): string | undefined {
    try {
      return fs.readlinkSync(path.join(this.dir, rel));
    } catch {
      return undefined;
    }
  }

  /** The host's view of a store path, read from the host folder. */
  storeFile(storePath: string, rel = ""): string {
    return path.join(this.paths.store, storePath.replace(/^\/nix\/store\//, ""), rel);
  }

  /** Profile, loader and /run, to prove a failed command left them alone. */
  snapshot(): string {
    const list = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
    const profiles = list(this.paths.profiles).map((n) => `${n} -> ${this.link(`fs/nix-var/profiles/${n}`) ?? "(dir)"}`);
    const boot = path.join(this.paths.boot, "loader");
    const loader = list(path.join(boot, "entries")).map((n) => `${n}: ${fs.readFileSync(path.join(boot, "entries", n), "utf8")}`);
    const conf = fs.existsSync(path.join(boot, "loader.conf")) ? fs.readFileSync(path.join(boot, "loader.conf"), "utf8") : "";
    return JSON.stringify({ profiles, loader, conf, current: this.link("fs/run/current-system"), store: list(this.paths.store) });
  }
}

/** A temporary root for hosts plus the control server; `cleanup` removes both. */
export async function makeFleet(): Promise<{ root: string; control: ControlServer; cleanup: () => Promise<void> }> {
  // Bind mounts need their mount points (/etc/nixos on a machine that is not NixOS), made and
  // released the fleet's way: a simulated fleet running beside the tests may use them too.
  const mountpoints = ensureMountpoints(HOST_MOUNTS);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "hosttools-"));
  const control = new ControlServer(path.join(root, "control.sock"));
  await control.start();
  return {
    root,
    control,
    cleanup: async () => {
      for (const pgid of control.sessions) killGroup(pgid);
      await control.stop();
      fs.rmSync(root, { recursive: true, force: true });
      // Only when no mount namespace uses it: removing a mountpoint detaches it in every namespace.
      releaseMountpoints(mountpoints);
    },
  };
}

/**
 * Registers before/after hooks that start a recording control server for a suite and remove
 * it again. `freshHost()` bootstraps a new host (named prefix1, prefix2, …) and clears what the
 * control server recorded so far.
 */
export function useHostToolsFleet(prefix: string): { freshHost(): Promise<TestHost>; control(): ControlServer } {
  let fleet: Awaited<ReturnType<typeof makeFleet>> | undefined;
  let count = 0;
  before(async () => {
    requireTools();
    fleet = await makeFleet();
  });
  after(async () => {
    await fleet?.cleanup();
  });
  const control = (): ControlServer => {
    if (!fleet) throw new Error("the host tools fleet is not running");
    return fleet.control;
  };
  return {
    control,
    async freshHost() {
      const host = new TestHost(fleet!.root, `${prefix}${++count}`, control());
      await host.bootstrap();
      control().events.length = 0;
      control().calls.length = 0;
      return host;
    },
  };
}
