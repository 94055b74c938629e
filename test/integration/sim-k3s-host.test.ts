/**
 * k3s from inside a simulated host, as a peer tool that runs kubectl over SSH sees it: on a
 * k3s server `kubectl` reads /etc/rancher/k3s/k3s.yaml and reaches the real control plane on
 * https://127.0.0.1:6443; an agent has kubectl but no API of its own; a system without k3s has
 * no kubectl; `systemctl stop k3s` stops the kubelet and the API, `start` brings them back; a
 * flag k3s does not define fails k3s.service and its kubelet; `kubectl exec` reaches the pod's
 * kubelet through kube-apiserver and answers from the fleet's exec answers. Two hosts of a real simulated
 * fleet; needs root, OpenSSH, nix-instantiate and the control plane's binaries.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { V1Lease } from "@kubernetes/client-node";
import { apiOf } from "../../sim/kubelet/api";
import type { FleetJson, SimTimings } from "../../sim/types";
import { pollUntil, sshCli } from "./helpers/fleet-client";
import { useSimFleet } from "./helpers/fleet-suite";

const TIMINGS: Partial<SimTimings> = { downMs: 500, systemdSettleMs: 200, kubeletReadyMs: 200, podTerminationMs: 50, rescheduleMs: 100 };

describe("k3s inside a simulated host: kubectl, k3s.yaml, systemctl and flags", function () {
  this.timeout(300_000);
  let stateDir: string;
  let json: FleetJson;
  let api: ReturnType<typeof apiOf>;

  useSimFleet("nfsim-k3s-", { hosts: ["cp1", "wk1"], timings: TIMINGS }, (s) => {
    ({ stateDir, json } = s);
    api = apiOf(fs.readFileSync(json.kubeconfig, "utf8"));
  });

  /** Runs `command` on `host` through the ssh client; fails with its output unless it exits 0. */
  async function ok(host: string, command: string, timeoutMs = 60_000): Promise<string> {
    const r = await sshCli(json, host, command, timeoutMs);
    assert.equal(r.code, 0, `${host}: \`${command}\` exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  const renewed = async (node: string): Promise<number> => {
    const lease: V1Lease = await api.coordination.readNamespacedLease({ name: node, namespace: "kube-node-lease" });
    return new Date(String(lease.spec?.renewTime)).getTime();
  };

  it("on a k3s server, kubectl over SSH reads k3s.yaml and lists the cluster's Nodes; the Node's bootID is the host's", async function () {
    const names = (await ok("cp1", "kubectl get nodes -o name")).trim().split("\n").sort();
    assert.deepEqual(names, ["node/cp1", "node/wk1"]);
    assert.equal((await ok("cp1", "stat -c %a /etc/rancher/k3s/k3s.yaml")).trim(), "600");
    assert.match(await ok("cp1", "grep server: /etc/rancher/k3s/k3s.yaml"), /server: https:\/\/127\.0\.0\.1:6443/);
    const bootId = (await ok("cp1", "cat /proc/sys/kernel/random/boot_id")).trim();
    assert.equal((await ok("cp1", "k3s kubectl get node cp1 -o jsonpath='{.status.nodeInfo.bootID}'")).trim(), bootId);
    assert.match(await ok("cp1", "k3s --version"), /^k3s version v\d+\.\d+\.\d+\+k3s\d+/);
  });

  it("an agent has kubectl but no API of its own and no k3s.yaml", async function () {
    assert.match(await ok("wk1", "command -v kubectl"), /\/sw\/bin\/kubectl/);
    const r = await sshCli(json, "wk1", "kubectl get nodes", 30_000);
    assert.notEqual(r.code, 0, `kubectl on the agent should fail; it printed ${r.stdout}`);
    assert.match(r.stderr, /localhost:8080|refused/);
    assert.equal((await sshCli(json, "wk1", "test -e /etc/rancher/k3s/k3s.yaml")).code, 1);
  });

  it("systemctl stop k3s stops the API on 127.0.0.1:6443 and the kubelet's Lease renewals; start brings both back", async function () {
    await ok("cp1", "systemctl stop k3s");
    assert.equal((await sshCli(json, "cp1", "systemctl is-active k3s")).stdout.trim(), "inactive");
    const r = await sshCli(json, "cp1", "kubectl get nodes --request-timeout=5s", 30_000);
    assert.notEqual(r.code, 0, "the API is gone with k3s");
    assert.match(r.stderr, /refused|127\.0\.0\.1:6443/);
    const stoppedAt = await renewed("cp1");
    await new Promise((res) => setTimeout(res, 3_000));
    assert.equal(await renewed("cp1"), stoppedAt, "no Lease renewal while k3s is stopped");
    assert.ok((await renewed("wk1")) > stoppedAt, "the agent's kubelet still renews");

    await ok("cp1", "systemctl start k3s");
    await pollUntil(() => renewed("cp1"), (t) => t > stoppedAt, 20_000, "cp1's Lease to be renewed after systemctl start k3s");
    assert.match(await ok("cp1", "kubectl get node cp1 -o name"), /node\/cp1/);
  });

  it("a system without k3s has no kubectl; a flag k3s does not define fails k3s.service and its kubelet", async function () {
    await ok("wk1", "cp /etc/nixos/configuration.nix /root/configuration.nix.orig");
    try {
      await ok("wk1", "sed -i 's/services.k3s.enable = true;/services.k3s.enable = false;/' /etc/nixos/configuration.nix && nixos-rebuild switch", 120_000);
      // The machine's own /usr/bin shows through on a simulated host, so the system's PATH entry is what is checked.
      assert.equal((await sshCli(json, "wk1", "test -e /run/current-system/sw/bin/kubectl")).code, 1, "no kubectl without k3s");

      await ok("wk1", "cp /root/configuration.nix.orig /etc/nixos/configuration.nix");
      await ok("wk1", `sed -i 's/services.k3s.enable = true;/services.k3s.enable = true;\\n  services.k3s.extraFlags = "--node-labels=zone=a";/' /etc/nixos/configuration.nix`);
      const sw = await sshCli(json, "wk1", "nixos-rebuild switch", 120_000);
      assert.notEqual(sw.code, 0, `the switch reports the failed unit\n${sw.stdout}\n${sw.stderr}`);
      assert.match(sw.stdout + sw.stderr, /k3s\.service/);
      assert.equal((await sshCli(json, "wk1", "systemctl is-failed k3s")).stdout.trim(), "failed");
      const failedAt = await renewed("wk1");
      await new Promise((res) => setTimeout(res, 3_000));
      assert.equal(await renewed("wk1"), failedAt, "no kubelet runs while k3s.service fails");
    } finally {
      await ok("wk1", "cp /root/configuration.nix.orig /etc/nixos/configuration.nix && nixos-rebuild switch", 120_000);
    }
    const before = await renewed("wk1");
    await pollUntil(() => renewed("wk1"), (t) => t > before, 20_000, "wk1's Lease to be renewed with k3s back");
  });

  it("kubectl exec from a server reaches the pod's kubelet through kube-apiserver and answers from the fleet's exec answers", async function () {
    fs.writeFileSync(
      path.join(stateDir, "exec-answers.json"),
      JSON.stringify([
        { namespace: "rook-ceph", pod: "rook-ceph-tools", command: "ceph status", stdout: "  cluster:\n    health: HEALTH_OK\n" },
        { namespace: "rook-ceph", pod: "rook-ceph-tools", command: "ceph health detail", stdout: "HEALTH_WARN 1 osds down\n", exitCode: 1 },
      ]),
    );
    await ok("cp1", "kubectl create namespace rook-ceph && kubectl -n rook-ceph create deployment rook-ceph-tools --image=quay.io/ceph/ceph:v18");
    await ok("cp1", "kubectl -n rook-ceph rollout status deploy/rook-ceph-tools --timeout=60s", 90_000);
    assert.match(await ok("cp1", "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph status"), /health: HEALTH_OK/);

    const warn = await sshCli(json, "cp1", "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph health detail", 30_000);
    assert.deepEqual([warn.code, warn.stdout], [1, "HEALTH_WARN 1 osds down\n"]);
    assert.match(warn.stderr, /command terminated with exit code 1/);

    const unknown = await sshCli(json, "cp1", "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd tree", 30_000);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /executable file not found/);
  });
});
