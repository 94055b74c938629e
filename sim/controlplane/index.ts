/**
 * The real Kubernetes control plane for the simulated fleet: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler on loopback, on free ports, with certificates made
 * by openssl and RBAC. start() resolves once the cluster is usable (the API server ready, the
 * scheduler ready, the `default` namespace and its `default` ServiceAccount there) and the
 * admin kubeconfig is written; stop() ends every process group and waits for it, also after a
 * failed start.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { isAlive, messageOf, type ProcRef } from "../proc";
import { argsOf } from "./args";
import { type ControlPlaneBinaries, locateBinaries, requireBinaries } from "./binaries";
import { certificatePlan, ensureCertificates, type CertName, type CertSpec } from "./certs";
import { renderKubeconfig, writeKubeconfig } from "./kubeconfig";
import { type Layout, layoutOf, loopbackUrl, type Ports } from "./layout";
import { AUDIT_POLICY, type Component, type ControlPlaneOptions, CONTROL_PLANE_DEFAULTS as D, type NodeLifecycle, nodeLifecycleOf, STOP_ORDER } from "./options";
import { httpProbe, httpsGet, type Probe, type TlsClient, waitUntil } from "./probe";
import { type ComponentProcess, logTail, rssBytes, spawnComponent, stopComponent } from "./processes";

export { AUDIT_POLICY, type Component, COMPONENTS, CONTROL_PLANE_DEFAULTS, type ControlPlaneOptions } from "./options";
export { BUILD_COMMAND, type ControlPlaneBinaries, locateBinaries } from "./binaries";

/** Resident memory of one component. */
export interface ComponentMemory {
  readonly component: Component;
  readonly pid: number;
  readonly rssBytes: number;
}

/** A running control plane. */
export class ControlPlane {
  private readonly procs: ComponentProcess[] = [];
  private stopping: Promise<void> | undefined;
  private apiUrl = "";
  private startedInMs = 0;

  private constructor(
    private readonly o: ControlPlaneOptions,
    private readonly layout: Layout,
    /** The programs it runs, and kubectl of the same release. */
    readonly binaries: ControlPlaneBinaries,
  ) {}

  /**
   * Starts the control plane and resolves once it is usable. Rejects, with every process it
   * started already gone, when a binary is missing (naming the build command), a component
   * exits, or the deadline passes (naming what it waited for and what it saw last).
   */
  static async start(o: ControlPlaneOptions): Promise<ControlPlane> {
    const binaries = requireBinaries(o.binaries ?? locateBinaries());
    const lifecycle = nodeLifecycleOf(o);
    const plan = certificatePlan(o.extraSans ?? []);
    const cp = new ControlPlane(o, layoutOf(o.dataDir), binaries);
    try {
      await cp.boot(plan, lifecycle);
    } catch (error) {
      const cleanup = await cp.stop().then(
        () => "",
        (e: unknown) => `; cleaning up after it failed too: ${messageOf(e)}`,
      );
      throw new Error(
        `the Kubernetes control plane in ${cp.layout.dataDir} did not start: ${messageOf(error)}${cleanup}. ` +
          `Each component's log is in ${path.dirname(cp.layout.logOf("etcd"))}; on a busy machine a longer startTimeoutMs may help.`,
      );
    }
    return cp;
  }

  /** The certificate and key (PEM) the simulated kubelets serve their API with. */
  kubeletServing(): { readonly cert: string; readonly key: string } {
    const c = this.layout.certs;
    return { cert: fs.readFileSync(c.cert("kubelet-serving"), "utf8"), key: fs.readFileSync(c.key("kubelet-serving"), "utf8") };
  }

  /** The API server's URL (https://127.0.0.1:PORT). */
  get url(): string {
    return this.apiUrl;
  }

  /** The admin kubeconfig written by start(). */
  get kubeconfigPath(): string {
    return this.o.kubeconfigPath;
  }

  /** The data folder (etcd data, certificates, logs under logs/). */
  get dataDir(): string {
    return this.layout.dataDir;
  }

  /** Milliseconds start() took until the cluster was usable. */
  get startMs(): number {
    return this.startedInMs;
  }

  /** The PEM of the cluster's CA. */
  get caPem(): string {
    return fs.readFileSync(this.layout.certs.caCert, "utf8");
  }

  /** The processes started, in start order. */
  processes(): ReadonlyArray<{ readonly component: Component; readonly ref: ProcRef; readonly logFile: string }> {
    return this.procs.map((p) => ({ component: p.component, ref: p.ref, logFile: p.logFile }));
  }

  /** Resident memory of each running component. */
  memory(): ComponentMemory[] {
    return this.procs.filter((p) => isAlive(p.ref)).map((p) => ({ component: p.component, pid: p.ref.pid, rssBytes: rssBytes(p.ref.pid) }));
  }

  /** Stops every process (SIGTERM, then SIGKILL) and waits until all are gone. Safe to call again. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const deadline = Date.now() + (this.o.stopTimeoutMs ?? D.stopTimeoutMs);
    const failed: string[] = [];
    for (const stage of STOP_ORDER) {
      const results = await Promise.allSettled(this.procs.filter((p) => stage.includes(p.component)).map((p) => stopComponent(p, D.termGraceMs, deadline)));
      failed.push(...results.flatMap((r) => (r.status === "rejected" ? [messageOf(r.reason)] : [])));
    }
    if (failed.length > 0) throw new Error(`stopping the control plane in ${this.layout.dataDir} left processes behind: ${failed.join("; ")}`);
    this.log(`control plane stopped (${this.procs.map((p) => `${p.component} ${p.ref.pid}`).join(", ") || "nothing was running"})`);
  }

  private log(line: string): void {
    this.o.log?.(line);
  }

  private async boot(plan: readonly CertSpec[], lifecycle: NodeLifecycle): Promise<void> {
    const startedAt = Date.now();
    const deadline = startedAt + (this.o.startTimeoutMs ?? D.startTimeoutMs);
    const l = this.layout;
    const host = D.listenAddress;
    const certs = await ensureCertificates(l.certs.dir, plan);
    const ports = await freePorts();
    const audit = this.o.auditLogPath === undefined ? undefined : { policyFile: path.join(l.dataDir, "audit-policy.yaml"), logFile: this.o.auditLogPath };
    if (audit !== undefined) {
      fs.writeFileSync(audit.policyFile, AUDIT_POLICY);
      fs.mkdirSync(path.dirname(audit.logFile), { recursive: true });
    }
    const input = { layout: l, ports, nodeLifecycle: lifecycle, listenAddress: host, ...(audit === undefined ? {} : { audit }) };
    this.apiUrl = loopbackUrl(host, ports.apiserver);
    for (const [file, cert] of [[l.controllerManagerKubeconfig, "controller-manager"], [l.schedulerKubeconfig, "scheduler"]] as const) {
      await writeKubeconfig(file, renderKubeconfig(this.apiUrl, cert, { kind: "files", caFile: certs.caCert, certFile: certs.cert(cert), keyFile: certs.key(cert) }));
    }
    const tlsAs = (name: CertName): TlsClient => ({
      ca: fs.readFileSync(certs.caCert, "utf8"),
      cert: fs.readFileSync(certs.cert(name), "utf8"),
      key: fs.readFileSync(certs.key(name), "utf8"),
    });
    const admin = tlsAs("admin");
    const wait = (what: string, probe: Probe) => waitUntil(what, probe, deadline, () => this.exited(), D.pollMs, startedAt);
    const probe = (url: string, tls: TlsClient, ok?: (body: string) => boolean) => httpProbe(url, tls, D.probeTimeoutMs, ok);

    await this.spawn("etcd", argsOf("etcd", input));
    const etcdHealth = `${loopbackUrl(host, ports.etcdClient)}/health`;
    await wait(`etcd to report healthy on ${etcdHealth}`, probe(etcdHealth, tlsAs("apiserver-etcd-client"), etcdHealthy));
    await this.spawn("kube-apiserver", argsOf("kube-apiserver", input));
    await wait(`kube-apiserver ${this.apiUrl}/readyz to answer ok`, probe(`${this.apiUrl}/readyz`, admin, (b) => b.trim() === "ok"));
    await this.spawn("kube-controller-manager", argsOf("kube-controller-manager", input));
    await this.spawn("kube-scheduler", argsOf("kube-scheduler", input));
    const schedulerReady = `${loopbackUrl(host, ports.scheduler)}/readyz`;
    await wait(`kube-scheduler ${schedulerReady} to answer ok`, probe(schedulerReady, admin, (b) => b.trim() === "ok"));
    await wait("the `default` namespace and its `default` ServiceAccount (made by kube-apiserver and kube-controller-manager)", defaultServiceAccount(this.apiUrl, admin));

    await writeKubeconfig(
      this.o.kubeconfigPath,
      renderKubeconfig(this.apiUrl, D.adminUser, { kind: "embedded", caPem: admin.ca, certPem: admin.cert, keyPem: admin.key }),
    );
    this.startedInMs = Date.now() - startedAt;
    const rss = this.memory().reduce((sum, m) => sum + m.rssBytes, 0);
    this.log(`control plane ready at ${this.apiUrl} in ${this.startedInMs} ms, ${Math.round(rss / 2 ** 20)} MiB resident; kubeconfig ${this.o.kubeconfigPath}`);
  }

  private async spawn(component: Component, args: readonly string[]): Promise<void> {
    const file = binaryOf(this.binaries, component);
    const p = await spawnComponent(component, file, args, this.layout.logOf(component));
    this.procs.push(p);
    this.o.onProcess?.(p.ref, component);
    this.log(`${component} started (pid ${p.ref.pid}, log ${p.logFile})`);
  }

  /** Why the start cannot succeed any more: the first component that exited, with its log's tail. */
  private exited(): string | undefined {
    for (const p of this.procs) {
      const e = p.exit();
      if (e === undefined) continue;
      const how = e.code === null ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
      return `${p.component} ${how}; its log ${p.logFile} ends:\n${logTail(p.logFile, D.logTailLines)}\n`;
    }
    return undefined;
  }
}

function binaryOf(b: ControlPlaneBinaries, component: Component): string {
  switch (component) {
    case "etcd":
      return b.etcd;
    case "kube-apiserver":
      return b.kubeApiserver;
    case "kube-controller-manager":
      return b.kubeControllerManager;
    case "kube-scheduler":
      return b.kubeScheduler;
  }
}

function etcdHealthy(body: string): boolean {
  try {
    return (JSON.parse(body) as { health?: unknown }).health === "true";
  } catch {
    return false;
  }
}

/** Satisfied once GET of the `default` namespace and of its `default` ServiceAccount both answer 200. */
function defaultServiceAccount(url: string, tls: TlsClient): Probe {
  return async () => {
    for (const [what, path] of [
      ["namespace default", "/api/v1/namespaces/default"],
      ["ServiceAccount default/default", "/api/v1/namespaces/default/serviceaccounts/default"],
    ] as const) {
      try {
        const a = await httpsGet(`${url}${path}`, tls, D.probeTimeoutMs);
        if (a.status !== 200) return `${what}: HTTP ${a.status}`;
      } catch (e) {
        return `${what}: ${messageOf(e)}`;
      }
    }
    return undefined;
  };
}

/** Four loopback ports that were free a moment ago: all held open together, then released. */
async function freePorts(): Promise<Ports> {
  const servers = await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once("error", reject);
          s.listen(0, D.listenAddress, () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return { etcdClient: ports[0], etcdPeer: ports[1], apiserver: ports[2], scheduler: ports[3] };
}
