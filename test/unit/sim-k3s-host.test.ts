import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { installSystemTools } from "../../sim/hosttools/install-tools";
import { K3S_YAML, k3sVersionOf, kubectlEnv } from "../../sim/hosttools/k3s";
import { k3sKubeconfig } from "../../sim/k3s-api";

describe("k3s on a simulated host (sim/hosttools/k3s.ts, sim/k3s-api.ts)", function () {
  it("puts k3s and kubectl on the PATH only of a system that enables k3s", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k3s-tools-"));
    try {
      installSystemTools("/nix/store/aaa-with", "/tools", path.join(dir, "with"), true);
      installSystemTools("/nix/store/bbb-without", "/tools", path.join(dir, "without"), false);
      const bin = (d: string) => fs.readdirSync(path.join(dir, d, "sw", "bin"));
      assert.ok(bin("with").includes("kubectl") && bin("with").includes("k3s"));
      assert.ok(!bin("without").includes("kubectl") && !bin("without").includes("k3s"));
      assert.match(fs.readFileSync(path.join(dir, "with", "sw", "bin", "kubectl"), "utf8"), /k3s\.js' 'kubectl' "\$@"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("defaults KUBECONFIG to k3s.yaml when it exists and the caller set none", function () {
    assert.equal(kubectlEnv({ PATH: "/bin" }, () => true).KUBECONFIG, K3S_YAML);
    assert.equal(kubectlEnv({ PATH: "/bin" }, () => false).KUBECONFIG, undefined);
    assert.equal(kubectlEnv({ KUBECONFIG: "/root/mine" }, () => true).KUBECONFIG, "/root/mine");
  });

  it("reads the k3s version from the system's packages", function () {
    assert.equal(k3sVersionOf(["/nix/store/x-openssh-9.8p1", "/nix/store/y-k3s-1.30.3+k3s1"]), "1.30.3+k3s1");
    assert.equal(k3sVersionOf(["/nix/store/x-openssh-9.8p1"]), undefined);
  });

  it("points k3s.yaml at the host's own loopback and keeps the credentials", function () {
    const admin = YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "sim", cluster: { server: "https://127.0.0.1:41234", "certificate-authority-data": "Q0E=" } }],
      users: [{ name: "admin", user: { "client-certificate-data": "Y2VydA==" } }],
    });
    const out = YAML.parse(k3sKubeconfig(admin)) as { clusters: Array<{ cluster: Record<string, string> }>; users: unknown[] };
    assert.equal(out.clusters[0].cluster.server, "https://127.0.0.1:6443");
    assert.equal(out.clusters[0].cluster["certificate-authority-data"], "Q0E=");
    assert.deepEqual(out.users, [{ name: "admin", user: { "client-certificate-data": "Y2VydA==" } }]);
    assert.throws(() => k3sKubeconfig(YAML.stringify({ clusters: [] })), /names no cluster/);
  });
});
