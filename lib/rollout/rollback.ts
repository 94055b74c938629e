/**
 * Rolling a host back to the system it had before this rollout: make that system the boot
 * default again, reboot into it (or re-activate it live when no reboot happened), wait until
 * it is healthy and uncordon it.
 */
import { releaseCordon, releaseSentence, type Release } from "./cordon";
import { cordonAndDrain, drainOptionsOf } from "./drain";
import { RolloutError } from "./errors";
import type { RolloutDeps } from "./apply";
import { waitForGates } from "./health";
import { rebootAndWait } from "./reboot";
import { readSystemState, run, SYSTEM_PROFILE, type SystemState } from "./remote";
import { shellQuote } from "../host/quote";
import type { Session } from "./session";
import type { HostSpec } from "./spec";

/** Returns a sentence saying where the host ended up; throws when the rollback fails. */
export async function rollBack(spec: HostSpec, before: SystemState, session: Session, deps: RolloutDeps, reboot: boolean): Promise<string> {
  const p = deps.progress;
  const prev = before.profile.system;
  p(`rolling back ${spec.name} to ${prev}`);
  const host = await session.host();
  const q = shellQuote(prev);
  const now = await readSystemState(host);
  if (now.profile.system !== prev) {
    await run(host, "rollback", `nix-env -p ${SYSTEM_PROFILE} --set ${q}`);
  }
  const node = spec.kubernetes?.nodeName;
  let release: Release | undefined;
  if (reboot) {
    await run(host, "rollback", `${q}/bin/switch-to-configuration boot 2>&1`);
    // The node may have been uncordoned (a gate failed after the reboot) and taken pods since:
    // drain it again, like any reboot. On a node still drained this only cordons.
    if (deps.cluster && node) {
      await cordonAndDrain(deps.cluster, drainOptionsOf(spec, node, deps));
    }
    await rebootAndWait(session, deps.cluster, { host: spec.name, expectSystem: prev, nodeName: node, timeouts: spec.timeouts, clock: deps.clock, progress: p });
    if (deps.cluster && node) release = await releaseCordon(deps.cluster, { host: spec.name, node, progress: p });
  } else {
    const live = before.current.system === prev ? "switch" : "test";
    await run(host, "rollback", `${shellQuote(before.current.system)}/bin/switch-to-configuration ${live} 2>&1`);
  }
  await waitForGates(spec.gates, deps.cluster, await session.host(), {
    host: spec.name,
    timeoutSeconds: spec.timeouts.healthSeconds,
    clock: deps.clock,
    progress: p,
  });
  const after = await readSystemState(await session.host());
  if (after.current.system !== before.current.system) {
    throw new RolloutError(spec.name, "rollback", `the host runs ${after.current.system}, not ${before.current.system}`);
  }
  return `${spec.name} runs ${prev} again (generation ${after.generation})${reboot ? ", rebooted into it" : ""}${release === undefined ? "" : `; ${releaseSentence(node ?? spec.name, release)}`}, healthy`;
}
