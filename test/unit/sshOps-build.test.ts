/**
 * The detached build over SSH (lib/nixos/sshOps.ts): nixos-rebuild runs as a transient service,
 * so the rollout follows it instead of owning it, and stops it when it gives up on it.
 */
import * as assert from "node:assert/strict";
import type { ExecResult, Host, HostConnector } from "../../lib/host/host";
import { BUILD_DIR, BUILD_UNIT, sshOps } from "../../lib/nixos/sshOps";
import { Session } from "../../lib/rollout/session";

/** A host whose build unit reports `states` in turn (the last one for ever); records every command. */
function buildHost(states: readonly string[]): { connector: HostConnector; commands: string[] } {
  const commands: string[] = [];
  let polls = 0;
  const answer = (command: string): ExecResult => {
    commands.push(command);
    if (command.startsWith("systemctl show -p ActiveState")) return { code: 0, stdout: states[Math.min(polls++, states.length - 1)], stderr: "" };
    if (command.startsWith("journalctl")) return { code: 0, stdout: "error: attribute 'nonsense' missing\n", stderr: "" };
    if (command.includes(`${BUILD_DIR}/result`)) return { code: 0, stdout: "s.system=/nix/store/abc-nixos-system-srv2\n", stderr: "" };
    return { code: 0, stdout: "", stderr: "" };
  };
  const host = { name: "srv2", exec: async (c: string) => answer(c), close: async () => undefined } as Host;
  return { connector: { name: "srv2", connect: async () => host, probe: async () => true }, commands };
}

const running = "ActiveState=active\nSubState=running\nResult=success\nExecMainStatus=0\n";
const exited = "ActiveState=active\nSubState=exited\nResult=success\nExecMainStatus=0\n";
const failed = "ActiveState=failed\nSubState=failed\nResult=exit-code\nExecMainStatus=1\n";

describe("detached build (sshOps.build)", function () {
  this.timeout(10_000);

  it("starts nixos-rebuild build as a transient service and follows it to its end", async () => {
    const h = buildHost([running, running, exited]);
    await sshOps(new Session(h.connector, 1000)).build(5000);
    const start = h.commands.find((c) => c.includes("systemd-run"));
    assert.match(start ?? "", new RegExp(`systemd-run --quiet --unit=${BUILD_UNIT} --property=RemainAfterExit=yes --working-directory=${BUILD_DIR} --setenv=PATH \\$nix_path -- nixos-rebuild build`));
    assert.equal(h.commands.filter((c) => c.startsWith("systemctl show")).length, 3);
    assert.ok(h.commands.includes(`systemctl stop ${BUILD_UNIT}`), "the finished unit is unloaded");
  });

  it("follows the running build without starting another when attaching after a dropped connection", async () => {
    const h = buildHost([exited]);
    await sshOps(new Session(h.connector, 1000)).build(5000, true);
    assert.ok(!h.commands.some((c) => c.includes("systemd-run")));
  });

  it("reports a failed build with its exit status and the tail of its journal", async () => {
    const h = buildHost([running, failed]);
    await assert.rejects(sshOps(new Session(h.connector, 1000)).build(5000), (e: Error & { failure?: { exitCode: number | null; output: string } }) => {
      assert.match(e.message, /^srv2: build failed: `nixos-rebuild build` failed/);
      assert.equal(e.failure?.exitCode, 1);
      assert.match(e.failure?.output ?? "", /attribute 'nonsense' missing/);
      return true;
    });
  });

  it("stops the build when its deadline passes, so none goes on after the rollout gave up", async () => {
    const h = buildHost([running]);
    await assert.rejects(sshOps(new Session(h.connector, 1000)).build(1200), /gave up after 1s waiting for `nixos-rebuild build` \(nixos-fleet-build\.service was active\); the build was stopped/);
    assert.ok(h.commands.some((c) => c.startsWith(`systemctl stop ${BUILD_UNIT}`)));
  });
});
