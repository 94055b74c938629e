import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { apiserverArgs, argsOf, controllerManagerArgs, etcdArgs, schedulerArgs, type ArgsInput } from "../../sim/controlplane/args";
import { binariesIn, BUILD_COMMAND, locateBinaries, missingBinaries, requireBinaries } from "../../sim/controlplane/binaries";
import { CERT_NAMES, certificatePlan, extensionsOf, sanEntry, subjectOf } from "../../sim/controlplane/certs";
import { renderKubeconfig } from "../../sim/controlplane/kubeconfig";
import { layoutOf } from "../../sim/controlplane/layout";
import { COMPONENTS, CONTROL_PLANE_DEFAULTS, isComponent, nodeLifecycleOf, STOP_ORDER } from "../../sim/controlplane/options";

/** The value of `--flag=value` in a command line, or undefined. */
function flag(args: readonly string[], name: string): string | undefined {
  const hit = args.filter((a) => a.startsWith(`--${name}=`));
  assert.ok(hit.length <= 1, `--${name} given ${hit.length} times: ${hit.join(" ")}`);
  return hit[0]?.slice(name.length + 3);
}

const input: ArgsInput = {
  layout: layoutOf("/data/cp"),
  ports: { etcdClient: 41001, etcdPeer: 41002, apiserver: 41003, scheduler: 41004 },
  nodeLifecycle: nodeLifecycleOf({}),
  listenAddress: "127.0.0.1",
};

describe("control plane: command lines (sim/controlplane/args.ts)", function () {
  it("etcd serves clients over TLS with client certificates on its port, data in the data folder", function () {
    const a = etcdArgs(input);
    assert.equal(flag(a, "listen-client-urls"), "https://127.0.0.1:41001");
    assert.equal(flag(a, "advertise-client-urls"), "https://127.0.0.1:41001");
    assert.equal(flag(a, "listen-peer-urls"), "http://127.0.0.1:41002");
    assert.equal(flag(a, "initial-cluster"), "fleet-etcd=http://127.0.0.1:41002");
    assert.equal(flag(a, "data-dir"), "/data/cp/etcd");
    assert.equal(flag(a, "client-cert-auth"), "true");
    assert.equal(flag(a, "trusted-ca-file"), "/data/cp/pki/ca.crt");
    assert.equal(flag(a, "cert-file"), "/data/cp/pki/loopback-serving.crt");
  });

  it("kube-apiserver: loopback, etcd with its client certificate, client-certificate authn, Node and RBAC authz, service-account keys", function () {
    const a = apiserverArgs(input);
    assert.equal(flag(a, "bind-address"), "127.0.0.1");
    assert.equal(flag(a, "secure-port"), "41003");
    assert.equal(flag(a, "etcd-servers"), "https://127.0.0.1:41001");
    assert.equal(flag(a, "etcd-certfile"), "/data/cp/pki/apiserver-etcd-client.crt");
    assert.equal(flag(a, "etcd-keyfile"), "/data/cp/pki/apiserver-etcd-client.key");
    assert.equal(flag(a, "client-ca-file"), "/data/cp/pki/ca.crt");
    assert.equal(flag(a, "tls-cert-file"), "/data/cp/pki/apiserver.crt");
    assert.equal(flag(a, "authorization-mode"), "Node,RBAC");
    assert.equal(flag(a, "service-account-key-file"), "/data/cp/pki/sa.pub");
    assert.equal(flag(a, "service-account-signing-key-file"), "/data/cp/pki/sa.key");
    assert.equal(flag(a, "service-cluster-ip-range"), CONTROL_PLANE_DEFAULTS.serviceClusterIpRange);
  });

  it("kube-controller-manager gets kube-controller-manager's own node lifecycle timings by default", function () {
    const a = controllerManagerArgs(input);
    assert.equal(flag(a, "node-monitor-grace-period"), "50s");
    assert.equal(flag(a, "node-monitor-period"), "5s");
    assert.equal(flag(a, "kubeconfig"), "/data/cp/controller-manager.kubeconfig");
    assert.equal(flag(a, "service-account-private-key-file"), "/data/cp/pki/sa.key");
    assert.equal(flag(a, "root-ca-file"), "/data/cp/pki/ca.crt");
    assert.equal(flag(a, "use-service-account-credentials"), "true");
    assert.equal(flag(a, "leader-elect"), "false");
  });

  it("kube-controller-manager gets shorter node lifecycle timings only through its own flags", function () {
    const a = controllerManagerArgs({ ...input, nodeLifecycle: nodeLifecycleOf({ nodeMonitorGracePeriodSeconds: 8, nodeMonitorPeriodSeconds: 1 }) });
    assert.equal(flag(a, "node-monitor-grace-period"), "8s");
    assert.equal(flag(a, "node-monitor-period"), "1s");
  });

  it("kube-scheduler serves /readyz on its loopback port with the loopback certificate, as itself", function () {
    const a = schedulerArgs(input);
    assert.equal(flag(a, "secure-port"), "41004");
    assert.equal(flag(a, "bind-address"), "127.0.0.1");
    assert.equal(flag(a, "kubeconfig"), "/data/cp/scheduler.kubeconfig");
    assert.equal(flag(a, "authentication-kubeconfig"), "/data/cp/scheduler.kubeconfig");
    assert.equal(flag(a, "tls-cert-file"), "/data/cp/pki/loopback-serving.crt");
  });

  it("argsOf gives each component its own command line, and every flag once", function () {
    for (const c of COMPONENTS) {
      const a = argsOf(c, input);
      assert.ok(a.every((x) => /^--[a-z0-9-]+=/.test(x)), `${c}: ${a.join(" ")}`);
      const names = a.map((x) => x.slice(0, x.indexOf("=")));
      assert.equal(new Set(names).size, names.length, `${c} repeats a flag: ${names.join(" ")}`);
    }
    assert.deepEqual(argsOf("etcd", input), etcdArgs(input));
    assert.deepEqual(argsOf("kube-scheduler", input), schedulerArgs(input));
    assert.ok(isComponent("kube-apiserver"));
    assert.ok(!isComponent("kubelet"));
  });
});

describe("control plane: options (sim/controlplane/options.ts)", function () {
  it("stops every component exactly once: clients before kube-apiserver, kube-apiserver before etcd", function () {
    const flat = STOP_ORDER.flat();
    assert.deepEqual([...flat].sort(), [...COMPONENTS].sort());
    const stage = (c: string) => STOP_ORDER.findIndex((s) => s.includes(c as never));
    assert.ok(stage("kube-scheduler") < stage("kube-apiserver") && stage("kube-controller-manager") < stage("kube-apiserver"));
    assert.ok(stage("kube-apiserver") < stage("etcd"));
  });

  it("rejects node lifecycle timings that make no sense, naming the option", function () {
    assert.throws(() => nodeLifecycleOf({ nodeMonitorGracePeriodSeconds: 5, nodeMonitorPeriodSeconds: 5 }), /nodeMonitorGracePeriodSeconds \(5\) must be longer than nodeMonitorPeriodSeconds \(5\)/);
    assert.throws(() => nodeLifecycleOf({ nodeMonitorPeriodSeconds: 0 }), /nodeMonitorPeriodSeconds must be a whole number of seconds >= 1, not 0/);
    assert.throws(() => nodeLifecycleOf({ nodeMonitorGracePeriodSeconds: 2.5 }), /nodeMonitorGracePeriodSeconds must be a whole number/);
    assert.deepEqual(nodeLifecycleOf({ nodeMonitorGracePeriodSeconds: 6, nodeMonitorPeriodSeconds: 1 }), { gracePeriodSeconds: 6, periodSeconds: 1 });
  });
});

describe("control plane: certificate plan (sim/controlplane/certs.ts)", function () {
  const plan = certificatePlan(["10.213.0.1", "fleet.example"]);
  const byName = new Map(plan.map((s) => [s.name, s]));

  it("issues each leaf certificate once", function () {
    assert.deepEqual(plan.map((s) => s.name).sort(), [...CERT_NAMES].sort());
  });

  it("the API server's certificate names loopback, the kubernetes Service and every extra address", function () {
    const s = byName.get("apiserver")!;
    assert.equal(s.usage, "server");
    for (const san of ["IP:127.0.0.1", "DNS:localhost", "IP:10.96.0.1", "DNS:kubernetes.default.svc", "IP:10.213.0.1", "DNS:fleet.example"]) {
      assert.ok(s.sans.includes(san), `${san} missing from ${s.sans.join(",")}`);
    }
    assert.match(extensionsOf(s), /^extendedKeyUsage=serverAuth$/m);
    assert.match(extensionsOf(s), /^subjectAltName=IP:127\.0\.0\.1,DNS:localhost,.*IP:10\.213\.0\.1,DNS:fleet\.example$/m);
  });

  it("the admin is a client in group system:masters; the controller manager and scheduler are the users RBAC's bootstrap policy knows", function () {
    const admin = byName.get("admin")!;
    assert.equal(admin.usage, "client");
    assert.deepEqual(admin.organizations, ["system:masters"]);
    assert.equal(subjectOf(admin), "/O=system:masters/CN=fleet-admin");
    assert.match(extensionsOf(admin), /^extendedKeyUsage=clientAuth$/m);
    assert.doesNotMatch(extensionsOf(admin), /subjectAltName/);
    assert.equal(subjectOf(byName.get("controller-manager")!), "/CN=system:kube-controller-manager");
    assert.equal(subjectOf(byName.get("scheduler")!), "/CN=system:kube-scheduler");
    assert.equal(byName.get("apiserver-etcd-client")!.usage, "client");
  });

  it("names IP addresses as IP and host names as DNS, and refuses anything else before openssl sees it", function () {
    assert.equal(sanEntry("10.0.0.1"), "IP:10.0.0.1");
    assert.equal(sanEntry("::1"), "IP:::1");
    assert.equal(sanEntry("srv1.lan"), "DNS:srv1.lan");
    assert.throws(() => certificatePlan(["10.0.0.1,DNS:evil"]), /extraSans: "10\.0\.0\.1,DNS:evil" is neither an IP address nor a DNS name/);
    assert.throws(() => sanEntry(""), /neither/);
  });

  it("escapes subject separators in names", function () {
    assert.equal(subjectOf({ name: "admin", usage: "client", commonName: "a/b", organizations: ["x=y"], sans: [] }), "/O=x\\=y/CN=a\\/b");
  });
});

describe("control plane: kubeconfigs (sim/controlplane/kubeconfig.ts)", function () {
  interface Parsed {
    clusters: Array<{ name: string; cluster: Record<string, string> }>;
    users: Array<{ name: string; user: Record<string, string> }>;
    contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
    "current-context": string;
  }

  it("the admin kubeconfig embeds the CA and the client certificate under the names the simulated API server used", function () {
    const k = parse(renderKubeconfig("https://127.0.0.1:6443", "fleet-admin", { kind: "embedded", caPem: "CA", certPem: "CERT", keyPem: "KEY" })) as Parsed;
    assert.equal(k["current-context"], "nixos-fleet-sim");
    assert.deepEqual(k.contexts, [{ name: "nixos-fleet-sim", context: { cluster: "nixos-fleet-sim", user: "fleet-admin" } }]);
    assert.equal(k.clusters[0].cluster.server, "https://127.0.0.1:6443");
    assert.equal(Buffer.from(k.clusters[0].cluster["certificate-authority-data"], "base64").toString(), "CA");
    assert.equal(Buffer.from(k.users[0].user["client-certificate-data"], "base64").toString(), "CERT");
    assert.equal(Buffer.from(k.users[0].user["client-key-data"], "base64").toString(), "KEY");
  });

  it("component kubeconfigs point at files", function () {
    const k = parse(renderKubeconfig("https://127.0.0.1:1", "scheduler", { kind: "files", caFile: "/p/ca.crt", certFile: "/p/s.crt", keyFile: "/p/s.key" })) as Parsed;
    assert.deepEqual(k.clusters[0].cluster, { server: "https://127.0.0.1:1", "certificate-authority": "/p/ca.crt" });
    assert.deepEqual(k.users[0], { name: "scheduler", user: { "client-certificate": "/p/s.crt", "client-key": "/p/s.key" } });
  });
});

describe("control plane: binaries (sim/controlplane/binaries.ts)", function () {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "cp-bin-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("a missing binary fails with the files and the command that builds them", function () {
    const b = binariesIn(path.join(dir, "kube"), path.join(dir, "etcd"));
    fs.mkdirSync(path.join(dir, "etcd"));
    fs.writeFileSync(b.etcd, "#!/bin/sh\n", { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "kube-apiserver-not-executable"), "");
    assert.deepEqual(missingBinaries(b), [b.kubeApiserver, b.kubeControllerManager, b.kubeScheduler, b.kubectl]);
    assert.throws(
      () => requireBinaries(b),
      (e: Error) => e.message.includes(b.kubeApiserver) && e.message.includes(BUILD_COMMAND) && !e.message.includes(`${b.etcd},`),
    );
  });

  it("a file without the execute bit counts as missing", function () {
    const b = binariesIn(dir, dir);
    for (const f of Object.values(b)) fs.writeFileSync(f, "", { mode: 0o755 });
    assert.deepEqual(missingBinaries(b), []);
    fs.chmodSync(b.kubectl, 0o644);
    assert.deepEqual(missingBinaries(b), [b.kubectl]);
  });

  it("takes the folders from FLEET_KUBE_BIN and FLEET_ETCD_BIN when set", function () {
    const b = locateBinaries({ FLEET_KUBE_BIN: "/k", FLEET_ETCD_BIN: "/e" });
    assert.deepEqual(b, binariesIn("/k", "/e"));
    assert.equal(b.kubeApiserver, "/k/kube-apiserver");
    assert.equal(b.etcd, "/e/etcd");
  });

  it("otherwise asks scripts/env.sh, the one place for versions and the tool cache", function () {
    const b = locateBinaries({ PATH: process.env.PATH, NIXOS_FLEET_CACHE: dir });
    const env = fs.readFileSync(path.resolve(__dirname, "../../../scripts/env.sh"), "utf8");
    const kube = /^FLEET_KUBE_VERSION="([^"]+)"$/m.exec(env)?.[1];
    const etcd = /^FLEET_ETCD_VERSION="([^"]+)"$/m.exec(env)?.[1];
    assert.ok(kube && etcd, "scripts/env.sh pins FLEET_KUBE_VERSION and FLEET_ETCD_VERSION");
    assert.equal(b.kubeApiserver, path.join(dir, `kube-v${kube}`, "bin", "kube-apiserver"));
    assert.equal(b.etcd, path.join(dir, `etcd-v${etcd}`, "bin", "etcd"));
  });
});
