/**
 * The NixosBuild resources of state written by 0.2.0, one per host, which the FleetBuild
 * replaces since 0.3.0. The first `up` after the move creates the FleetBuild and then deletes the
 * NixosBuilds; deleting one leaves its host alone, as it always did. A refresh before that keeps
 * them as they are: the FleetBuild checks the builds from then on.
 */
import type { Implementation } from "./engine";

type Props = Record<string, unknown>;

function noLongerDeclared(): never {
  throw new Error("nixos-fleet: NixosBuild is no longer declared since 0.3.0 (one FleetBuild builds the fleet): run pulumi up with this project's program, which moves the stack onto it");
}

export const legacyBuild: Implementation<Props> = {
  check: async (_olds, news) => ({ inputs: news }),
  diff: async () => ({ changes: false }),
  create: async () => noLongerDeclared(),
  update: async () => noLongerDeclared(),
  read: async (id, props) => ({ id, props }),
  remove: async () => undefined,
};
