/**
 * One host and its cluster for unit tests of the rollout steps: a FakeNixos running OLD with its
 * files, secrets and Node, a spec that builds a given system, and assertions on where it ends.
 */
import * as assert from "node:assert/strict";
import { type Previous, rollOutHost } from "../../lib/rollout/hostRollout";
import type { HostSpec } from "../../lib/rollout/spec";
import { FakeCluster, fastClock } from "./cluster";
import { FakeNixos, fakeSystem } from "./nixos";
import { testSpec } from "./specs";

export const OLD = fakeSystem("old");
export const LIVE = fakeSystem("live-change");
export const KPARAM = fakeSystem("kernel-param", "quiet mitigations=off");
export const PENDING = fakeSystem("pending", "quiet pending=1");
export const OLD_CONF = "{ ... }: { old = true; }\n";
export const OLD_TOKEN = "old-token";

export interface World {
  readonly host: FakeNixos;
  readonly cluster: FakeCluster;
  readonly spec: HostSpec;
  readonly lines: string[];
  run(): Promise<unknown>;
}

export function world(built: typeof OLD, edit: Partial<HostSpec> = {}): World {
  const cluster = new FakeCluster().addNode("srv2", true, "boot-1").addNode("srv1").addNode("srv3");
  const host = new FakeNixos("srv2", OLD, { fake: cluster, node: "srv2" });
  host.etcNixos["configuration.nix"] = OLD_CONF;
  host.secrets["/var/lib/nixos-fleet/secrets/k3s-token"] = OLD_TOKEN;
  host.nextBuild = built;
  const spec = testSpec("srv2", { kubernetes: { kubeconfig: "", nodeName: "srv2" }, ...edit });
  const lines: string[] = [];
  const previous: Previous = { files: ["configuration.nix"] };
  // The host's guard runs on the rollout's clock.
  const clock = fastClock();
  host.clock = clock;
  return { host, cluster, spec, lines, run: () => rollOutHost(spec, previous, host, { cluster, progress: (l) => lines.push(l), clock, lockOwner: "unit test rollout" }) };
}

/** The host's systems: what runs, what booted, the profile and the loader's default. */
export function systems(h: FakeNixos) {
  return { current: h.current, booted: h.booted, profile: h.profile, bootDefault: h.bootDefault };
}
export const on = (s: typeof OLD) => ({ current: s.system, booted: s.system, profile: s.system, bootDefault: s.system });

/** Asserts the files and secrets are the ones from before the rollout. */
export function assertFilesRestored(h: FakeNixos): void {
  assert.equal(h.etcNixos["configuration.nix"], OLD_CONF);
  assert.equal(h.secrets["/var/lib/nixos-fleet/secrets/k3s-token"], OLD_TOKEN);
}

export async function rejects(w: World, ...patterns: RegExp[]): Promise<string> {
  let message = "";
  await assert.rejects(w.run(), (e: Error) => {
    message = e.message;
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
  return message;
}
