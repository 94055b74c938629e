/**
 * A host pinned to a channel (lib/rollout/pinChannel.ts): the system is built from the channel,
 * and the host's own `nixos` channel is set only once it runs that system and passed its gates.
 */
import * as assert from "node:assert/strict";
import { testSpec } from "../fakes/specs";
import { KPARAM, LIVE, OLD, on, rejects, systems, world } from "../fakes/world";

const PIN = { url: "https://nixos.org/channels/nixos-24.11", upgradeToken: "" };

describe("rollOutHost with a pinned channel", () => {
  it("builds from the channel and sets the host's channel after the gates, last", async () => {
    const w = world(LIVE, { channel: PIN });
    w.host.channel = { url: "https://nixos.org/channels/nixos-24.05", token: "" };
    await w.run();
    assert.deepEqual(w.host.log, [`build from ${PIN.url}`, `set-profile ${LIVE.system}`, "arm live guard", `activate ${LIVE.system} switch`, "disarm guard", `set-channel ${PIN.url}`]);
    assert.deepEqual(w.host.channel, { url: PIN.url, token: "" });
    assert.ok(w.lines.includes(`srv2: nixos channel set to ${PIN.url} (was https://nixos.org/channels/nixos-24.05)`), w.lines.join("\n"));
  });

  it("sets the channel after the reboot, once the host is back and healthy", async () => {
    const w = world(KPARAM, { channel: PIN });
    await w.run();
    const log = w.host.log;
    assert.ok(log.indexOf(`set-channel ${PIN.url}`) > log.indexOf("disarm guard"), log.join("\n"));
    assert.deepEqual(w.cluster.calls, ["cordon srv2", "uncordon srv2"]);
  });

  it("leaves the channel alone when the rollout fails its gates and rolls back", async () => {
    const w = world(LIVE, { channel: PIN, gates: { nodesReady: true, watchedNamespaces: [], commands: [{ name: "app", command: "check", exitCode: 0, passWhen: ["^ok"] }] }, timeouts: { ...testSpec("x").timeouts, healthSeconds: 2 } });
    w.host.channel = { url: "https://nixos.org/channels/nixos-24.05", token: "" };
    w.host.commands.set("check", (h) => ({ code: 0, stdout: h.current === LIVE.system ? "broken\n" : "ok\n", stderr: "" }));
    await rejects(w, /^srv2: health failed/);
    assert.deepEqual(systems(w.host), on(OLD));
    assert.equal(w.host.channel.url, "https://nixos.org/channels/nixos-24.05");
    assert.ok(!w.host.log.some((l) => l.startsWith("set-channel")));
  });

  it("a failed channel update says the host runs its new system and what the next run does", async () => {
    const w = world(LIVE, { channel: PIN });
    w.host.faults.setChannel = "error: unable to download 'https://nixos.org/channels/nixos-24.11/nixexprs.tar.xz': HTTP error 503";
    await rejects(
      w,
      /^srv2: channel failed: setting the nixos channel failed/,
      /srv2 runs its new system, built from https:\/\/nixos\.org\/channels\/nixos-24\.11, and passed its gates; only its own nixos channel is still the previous one/,
      /HTTP error 503/,
      /what to do: run the rollout again \(pulumi up\): the host is not activated again, only its channel is set/,
    );
    assert.deepEqual(systems(w.host), { ...on(LIVE), booted: OLD.system }, "the healthy new system stays");
  });

  it("asks nothing of the host's channel when none is pinned", async () => {
    const w = world(LIVE);
    await w.run();
    assert.ok(!w.host.log.some((l) => l.startsWith("set-channel") || l.includes(" from ")));
  });
});
