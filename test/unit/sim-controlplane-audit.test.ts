import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { apiserverArgs, type ArgsInput } from "../../sim/controlplane/args";
import { layoutOf } from "../../sim/controlplane/layout";
import { AUDIT_POLICY, nodeLifecycleOf } from "../../sim/controlplane/options";

const input: ArgsInput = {
  layout: layoutOf("/data/cp"),
  ports: { etcdClient: 41001, etcdPeer: 41002, apiserver: 41003, scheduler: 41004 },
  nodeLifecycle: nodeLifecycleOf({}),
  listenAddress: "127.0.0.1",
};

describe("control plane: the audit log (sim/controlplane)", function () {
  it("kube-apiserver writes no audit log unless asked", function () {
    assert.deepEqual(apiserverArgs(input).filter((a) => a.startsWith("--audit")), []);
  });

  it("with an audit log, kube-apiserver gets the policy file and the log as JSON lines, written before it answers, never rotated", function () {
    const a = apiserverArgs({ ...input, audit: { policyFile: "/data/cp/audit-policy.yaml", logFile: "/state/audit.log" } });
    assert.deepEqual(
      a.filter((x) => x.startsWith("--audit")),
      [
        "--audit-policy-file=/data/cp/audit-policy.yaml",
        "--audit-log-path=/state/audit.log",
        "--audit-log-format=json",
        "--audit-log-mode=blocking",
        "--audit-log-maxsize=0",
        "--audit-log-maxbackup=0",
      ],
    );
  });

  it("the policy logs evictions at Metadata and Node changes with the resulting Node, and nothing else", function () {
    const p = parse(AUDIT_POLICY) as { kind: string; rules: Array<{ level: string; verbs?: string[]; resources?: Array<{ resources: string[] }> }> };
    assert.equal(p.kind, "Policy");
    assert.deepEqual(
      p.rules.map((r) => [r.level, r.verbs ?? [], (r.resources ?? []).flatMap((x) => x.resources)]),
      [
        ["Metadata", ["create"], ["pods/eviction"]],
        ["RequestResponse", ["create", "update", "patch", "delete"], ["nodes"]],
        ["None", [], []],
      ],
    );
  });
});
