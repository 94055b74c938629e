/**
 * A bare OpenSSH sshd in a network namespace of its own, built from the simulated fleet's
 * pieces (namespace, holder, mounts, sshd) without hosts, boot or Kubernetes. Everything it
 * creates is recorded in <dir>/resources.json and removed by stop().
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { withMachineLock } from "../../../sim/lock";
import { ensureMountpoints, mountHostFs, startHolder, type Holder } from "../../../sim/mounts";
import { createHostNet, findFreeSubnet, hostAddresses, setHostLink, type HostNet } from "../../../sim/netns";
import { cleanUp, Resources, settle } from "../../../sim/resources";
import { generateKey, renderSshdConfig, Sshd } from "../../../sim/sshd";

export interface BareSshd {
  readonly address: string;
  readonly port: number;
  /** OpenSSH line of the key sshd presents (until useOtherKey). */
  readonly hostKey: string;
  /** OpenSSH line of a second key ("another machine"). */
  readonly otherHostKey: string;
  /** The client's private key (OpenSSH format). */
  readonly clientKey: string;
  readonly clientKeyPath: string;
  readonly logPath: string;
  readonly net: HostNet;
  /** Lines of sshd's log so far. */
  log(): string[];
  dropSessions(): Promise<number>;
  /** Restarts sshd presenting the other host key. */
  useOtherKey(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBareSshd(dir: string): Promise<BareSshd> {
  fs.mkdirSync(dir, { recursive: true });
  const fleetId = `t${Math.floor(Math.random() * 0xfff).toString(16).padStart(3, "0")}`;
  const resources = new Resources(path.join(dir, "resources.json"), dir, fleetId);
  const lines: string[] = [];
  let sshd: Sshd | undefined;
  let holder: Holder | undefined;
  const stop = async () => {
    sshd?.expectExit();
    const problems = await cleanUp(resources.snapshot);
    const left = await settle(resources.snapshot, 5000);
    if (left.length > 0) throw new Error(`bare sshd left ${left.join("; ")} (${problems.join("; ")})`);
    resources.remove();
  };
  try {
    const hostDir = path.join(dir, "host");
    const net = await withMachineLock(async () => {
      resources.update((d) => ({ ...d, mountpoints: ensureMountpoints() }));
      const subnet = await findFreeSubnet();
      const created = await createHostNet({ netns: `nfsim-${fleetId}-bare`, vethRoot: `nf${fleetId}b0`, vethHost: "eth0" }, hostAddresses(subnet, 0), (kind, n) =>
        resources.update((d) => (kind === "netns" ? { ...d, netns: [...d.netns, n] } : { ...d, veths: [...d.veths, n] })),
      );
      const started = await startHolder(created.netns);
      holder = started;
      resources.update((d) => ({ ...d, holders: [...d.holders, { ...started, host: "bare" }] }));
      await mountHostFs(started, hostDir, "bare");
      return created;
    });
    await setHostLink(net, true);
    const h = holder as Holder;
    fs.mkdirSync(path.join(hostDir, "fs", "run", "sshd"), { recursive: true });
    const sshdDir = path.join(hostDir, "sshd");
    fs.mkdirSync(sshdDir, { recursive: true });
    const [hostKey, otherHostKey, clientPub] = await Promise.all([
      generateKey(path.join(sshdDir, "key"), "root@bare"),
      generateKey(path.join(sshdDir, "other"), "root@other"),
      generateKey(path.join(dir, "client"), "client"),
    ]);
    fs.writeFileSync(path.join(sshdDir, "authorized_keys"), clientPub + "\n");
    const logPath = path.join(sshdDir, "sshd.log");
    const start = async (keyFile: string) => {
      const configPath = path.join(sshdDir, "sshd_config");
      fs.writeFileSync(
        configPath,
        renderSshdConfig({
          address: net.hostAddress,
          port: 22,
          hostKeyPath: path.join(sshdDir, keyFile),
          authorizedKeysPath: path.join(sshdDir, "authorized_keys"),
          env: { PATH: "/usr/bin:/bin" },
        }),
      );
      sshd = await Sshd.start({ holder: h, configPath, logPath, address: net.hostAddress, port: 22, onLine: (l) => lines.push(l), onUnexpectedExit: () => undefined });
      resources.addProcess(sshd.ref, "bare sshd");
    };
    await start("key");
    return {
      address: net.hostAddress,
      port: 22,
      hostKey,
      otherHostKey,
      clientKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
      clientKeyPath: path.join(dir, "client"),
      logPath,
      net,
      log: () => [...lines],
      dropSessions: () => (sshd as Sshd).dropSessions(h.mntNs),
      useOtherKey: async () => {
        await sshd?.stop();
        await start("other");
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
