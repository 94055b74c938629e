/**
 * The part of the providers that Pulumi serializes into the state, with everything it needs:
 * find the project being run and load its implementation through its loader
 * (dist/providers/loader.js). Nothing here names a folder of the machine that wrote the state,
 * so refresh and destroy run the code of the project they are run from, wherever it sits.
 *
 * What this module does is frozen into every resource's state at its last create or update and
 * is run by later versions: the loader's path and its exports' names and signatures must stay.
 * Only node's own modules may be used here: the serializer copies into the state the code the
 * providers reach from here, and a module of the project would be copied with it.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The loader of the project that contains `from` (the provider process's working folder, the
 * folder pulumi was run in or the project's): the nearest folder up from it with a Pulumi.yaml.
 */
export function projectLoader(from: string = process.cwd()): typeof import("./loader") {
  let dir = path.resolve(from);
  while (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
    if (dir === path.dirname(dir)) throw new Error(`nixos-fleet: no Pulumi.yaml in ${from} or above: run pulumi in the project`);
    dir = path.dirname(dir);
  }
  const loader = path.join(dir, "dist/providers/loader.js");
  if (!fs.existsSync(loader)) throw new Error(`nixos-fleet: ${dir} is not built (no ${loader}): run \`npm ci && npm run build\` there`);
  return require(loader);
}
