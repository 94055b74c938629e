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
});
