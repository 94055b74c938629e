import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as YAML from "yaml";
import { installSystemTools } from "../../sim/hosttools/install-tools";
import { K3S_YAML, k3sVersionOf, kubectlEnv } from "../../sim/hosttools/k3s";
import { k3sForwards, k3sKubeconfig } from "../../sim/k3s-ports";
import { execOutcome, execStatus, parseExecAnswers } from "../../sim/kubelet/exec";
import { chooseProtocol, execRequestOf } from "../../sim/kubelet/server";
import { acceptKey, closeFrame, frame, OPCODE } from "../../sim/kubelet/websocket";

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

describe("k3s ports and kubectl exec on a simulated host (sim/k3s-ports.ts, sim/kubelet/exec.ts, server.ts, websocket.ts)", function () {
  it("listens on the API and the kubelet port on a server, on the kubelet port on an agent, on nothing without k3s", function () {
    const a = { hostAddress: "10.9.0.2", rootAddress: "10.9.0.1" };
    const server = k3sForwards({ runs: true, role: "server", labels: {}, nodeName: undefined }, a);
    assert.deepEqual(server.map((f) => `${f.listen.host}:${f.listen.port}=${f.to.host}:${f.to.port}`), ["127.0.0.1:6443=10.9.0.1:6443", "10.9.0.2:10250=10.9.0.1:10250"]);
    assert.deepEqual(k3sForwards({ runs: true, role: "agent", labels: {}, nodeName: undefined }, a).map((f) => f.listen.port), [10250]);
    assert.deepEqual(k3sForwards({ runs: false, why: "services.k3s.enable is false" }, a), []);
    assert.deepEqual(k3sForwards(undefined, a), []);
  });

  it("answers a command from the first matching entry, by namespace, pod prefix and container; else as the runtime does", function () {
    const answers = [
      { namespace: "rook-ceph", pod: "rook-ceph-tools", command: "ceph status", stdout: "HEALTH_OK\n" },
      { command: "ceph status", stdout: "other\n", exitCode: 3 },
    ];
    const req = (namespace: string, pod: string, command: string[]) => ({ namespace, pod, container: "c", command });
    assert.deepEqual(execOutcome(answers, req("rook-ceph", "rook-ceph-tools-7d9f-abcde", ["ceph", "status"])), { kind: "ran", stdout: "HEALTH_OK\n", stderr: "", exitCode: 0 });
    assert.deepEqual(execOutcome(answers, req("default", "rook-ceph-tools-7d9f-abcde", ["ceph", "status"])), { kind: "ran", stdout: "other\n", stderr: "", exitCode: 3 });
    assert.equal(execOutcome(answers, req("rook-ceph", "rook-ceph-toolsx", ["ceph", "status"])).kind, "ran", "falls to the entry without a pod");
    const missing = execOutcome(answers, req("rook-ceph", "rook-ceph-tools-1", ["ceph", "health"]));
    assert.equal(missing.kind, "cannot-start");
    assert.match((missing as { message: string }).message, /exec: "ceph": executable file not found in \$PATH/);
  });

  it("ends with the Status a kubelet sends: Success, NonZeroExitCode with the exit code as its cause, or an internal error", function () {
    assert.deepEqual(execStatus({ kind: "ran", stdout: "", stderr: "", exitCode: 0 }, ["true"]), { metadata: {}, status: "Success" });
    const failed = execStatus({ kind: "ran", stdout: "", stderr: "", exitCode: 3 }, ["sh", "-c", "exit 3"]) as { reason: string; details: { causes: unknown[] } };
    assert.equal(failed.reason, "NonZeroExitCode");
    assert.deepEqual(failed.details.causes, [{ reason: "ExitCode", message: "3" }]);
    assert.equal(execStatus({ kind: "cannot-start", message: "x" }, ["x"]).reason, "InternalError");
  });

  it("reads the answers file and names the entry that is wrong", function () {
    assert.deepEqual(parseExecAnswers('[{"command":"ceph status","stdout":"ok"}]', "f.json"), [{ command: "ceph status", stdout: "ok" }]);
    assert.throws(() => parseExecAnswers("{}", "f.json"), /f\.json: expected a JSON list/);
    assert.throws(() => parseExecAnswers('[{"stdout":"x"}]', "f.json"), /f\.json\[0\]: an exec answer needs "command"/);
    assert.throws(() => parseExecAnswers('[{"command":"x","exitCode":300}]', "f.json"), /f\.json\[0\]\.exitCode/);
  });

  it("reads exec requests from kubelet URLs and picks a channel protocol the client offers", function () {
    assert.deepEqual(execRequestOf("/exec/rook-ceph/tools-1/main?command=ceph&command=status&output=1&error=1"), { namespace: "rook-ceph", pod: "tools-1", container: "main", command: ["ceph", "status"] });
    assert.deepEqual(execRequestOf("/exec/ns/p/uid-1/c?command=ls")?.container, "c");
    assert.equal(execRequestOf("/containerLogs/ns/p/c"), undefined);
    assert.equal(chooseProtocol("v4.channel.k8s.io, v5.channel.k8s.io"), "v5.channel.k8s.io");
    assert.equal(chooseProtocol("v4.channel.k8s.io"), "v4.channel.k8s.io");
    assert.equal(chooseProtocol("channel.k8s.io"), undefined);
  });

  it("frames WebSocket messages as RFC 6455 says: the accept key of its example, lengths of 7, 16 and 64 bits", function () {
    assert.equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert.deepEqual([...frame(OPCODE.binary, Buffer.from([1, 65]))], [0x82, 2, 1, 65]);
    const mid = frame(OPCODE.binary, Buffer.alloc(300));
    assert.deepEqual([mid[0], mid[1], mid.readUInt16BE(2), mid.length], [0x82, 126, 300, 304]);
    const big = frame(OPCODE.binary, Buffer.alloc(70_000));
    assert.deepEqual([big[1], Number(big.readBigUInt64BE(2)), big.length], [127, 70_000, 70_010]);
    assert.deepEqual([...closeFrame()], [0x88, 2, 0x03, 0xe8]);
  });
});
