/** sim/demo.ts: the demo's kernel-parameter change and its per-host summary. */
import * as assert from "node:assert/strict";
import { parse } from "yaml";
import { DEMO_PARAM, summaryLines, withKernelParam } from "../../sim/demo";

describe("the demo's reboot step (sim/demo.ts)", () => {
  it("adds its kernel parameter to the fleet's settings, keeps the rest and its comments, and replaces its earlier value", () => {
    const text = "# the fleet\nnix:\n  settings:\n    boot:\n      kernelParams: [quiet]\n      loader: { systemd-boot: { enable: true } }\nhosts: []\n";
    const once = withKernelParam(text, "1");
    assert.match(once, /^# the fleet/);
    assert.deepEqual(parse(once).nix.settings.boot, { kernelParams: ["quiet", `${DEMO_PARAM}=1`], loader: { "systemd-boot": { enable: true } } });
    const twice = withKernelParam(once, "2");
    assert.deepEqual(parse(twice).nix.settings.boot.kernelParams, ["quiet", `${DEMO_PARAM}=2`]);
    assert.deepEqual(parse(withKernelParam("hosts: []\n", "3")).nix, { settings: { boot: { kernelParams: [`${DEMO_PARAM}=3`] } } });
    assert.throws(() => withKernelParam("nix: { settings: { boot: { kernelParams: quiet } } }\n", "4"), /kernelParams in the inventory is not a list/);
  });

  it("summarizes each host from the stack outputs and the timeline since the rollout began", () => {
    const outputs = {
      srv1: { generation: 4, rebooted: true, rebootReason: "kernel-params changed" },
      srv2: { generation: 3, rebooted: false, rebootReason: "activated live" },
    };
    const ev = (t: number, host: string, kind: string) => ({ t, host, kind }) as never;
    const events = [ev(500, "srv1", "cordon"), ev(1000, "srv1", "build-started"), ev(2000, "srv1", "cordon"), ev(6500, "srv1", "uncordon"), ev(7000, "srv1", "ssh-session"), ev(8000, "srv2", "build-started"), ev(9000, "srv2", "activated")];
    assert.deepEqual(summaryLines(outputs, events, 900), [
      "srv1: generation 4, rebooted (kernel-params changed), cordoned 4.5 s, rollout 6.0 s",
      "srv2: generation 3, not rebooted (activated live), rollout 1.0 s",
    ]);
  });

  it("adds the kernel change and the package counts of a rollout that changed the system", () => {
    const pkg = { name: "x", version: "1" };
    const changes = (kernel: { from: string; to: string }, packagesError = "", upgraded = [{ name: "linux", from: kernel.from, to: kernel.to }]) => ({
      changed: true,
      kernel,
      packages: { added: [pkg], removed: [], upgraded },
      packagesError,
    });
    const outputs = {
      srv1: { generation: 5, rebooted: true, rebootReason: "kernel changed", changes: changes({ from: "6.6.45", to: "6.6.46" }) },
      srv2: { generation: 4, rebooted: false, rebootReason: "activated live", changes: changes({ from: "6.6.45", to: "6.6.45" }, "", []) },
      srv3: { generation: 4, rebooted: false, rebootReason: "activated live", changes: { ...changes({ from: "6.6.45", to: "6.6.45" }, "nix: not found", []), packages: { added: [], removed: [], upgraded: [] } } },
      srv4: { generation: 4, rebooted: false, rebootReason: "nothing to do", changes: { ...changes({ from: "", to: "" }), changed: false } },
    };
    assert.deepEqual(summaryLines(outputs, [], 0), [
      "srv1: generation 5, rebooted (kernel changed), kernel 6.6.45 → 6.6.46, packages: 1 upgraded, 1 added, 0 removed",
      "srv2: generation 4, not rebooted (activated live), packages: 0 upgraded, 1 added, 0 removed",
      "srv3: generation 4, not rebooted (activated live), packages could not be read",
      "srv4: generation 4, not rebooted (nothing to do)",
    ]);
  });
});
