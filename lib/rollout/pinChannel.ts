/**
 * The last step of a host's rollout when the inventory pins its channel: once the host runs the
 * system built from that channel and passed its gates, its own `nixos` channel is set to it, so
 * that a `nixos-rebuild` on the host builds from the channel it runs (lib/nixos/channel.ts).
 */
import type { NixosOps } from "../nixos/ops";
import { inStep, RolloutError } from "./errors";
import type { Progress } from "./progress";
import type { HostSpec } from "./spec";

/** Sets the host's `nixos` channel to the pinned one; a no-op when it is set already or none is pinned. */
export async function pinChannel(spec: Pick<HostSpec, "name" | "channel">, ops: NixosOps, p: Progress): Promise<void> {
  const pin = spec.channel;
  if (!pin) return;
  let result: Awaited<ReturnType<NixosOps["setChannel"]>>;
  try {
    result = await ops.setChannel(pin);
  } catch (error) {
    const cause = inStep(spec.name, "channel", error);
    throw new RolloutError(
      spec.name,
      "channel",
      `${cause.summary}\n${spec.name} runs its new system, built from ${pin.url}, and passed its gates; only its own nixos channel is still the previous one, so a nixos-rebuild run on the host would build from that`,
      cause.hint ?? "run the rollout again (pulumi up): the host is not activated again, only its channel is set.",
      cause.failure,
      cause,
    );
  }
  if (result.changed) p(`${spec.name}: nixos channel set to ${pin.url} (was ${result.previous === "none" ? "not set" : result.previous})`);
}
