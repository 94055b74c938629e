/**
 * The NixosBuild provider's implementation (see nixosBuild.ts): create and update stage and
 * build the host's configuration (lib/rollout/buildAhead.ts) without changing what the host
 * runs; read checks the build is still there; delete leaves the host alone.
 */
import { randomBytes } from "node:crypto";
import * as os from "node:os";
import type * as pulumi from "@pulumi/pulumi";
import { buildAhead, checkBuilt } from "../lib/rollout/buildAhead";
import { fileHashes } from "../lib/nixos/staging";
import { type BuildProps, buildSpecOf, diffBuild, rebuildReason } from "./buildProps";
import { connectorFor, pidAlive, progress, tofuPin } from "./connect";
import { preloadKubeClient } from "./kubeClient";

/** Builds; `olds` is the recorded state of an update (its host key and, after a rotation, its login key). */
async function build(news: BuildProps, olds: BuildProps | undefined): Promise<BuildProps> {
  const spec = buildSpecOf(news);
  // The host's rollout comes after every build and needs the client: load it while they run.
  preloadKubeClient();
  const rotated = olds?.sshPrivateKey && olds.sshPrivateKey !== spec.sshPrivateKey ? olds.sshPrivateKey : undefined;
  const connector = connectorFor(spec, { trustedHostKey: olds?.pinnedHostKey || undefined, previousPrivateKey: rotated });
  const staged = await buildAhead(spec, {
    connector,
    progress,
    owner: { pid: process.pid, machine: os.hostname(), token: randomBytes(8).toString("hex") },
    isAlive: pidAlive,
  });
  return { ...news, system: staged.system, pinnedHostKey: tofuPin(spec, connector, olds?.pinnedHostKey) };
}

export async function diff(_id: string, olds: BuildProps, news: BuildProps): Promise<pulumi.dynamic.DiffResult> {
  return diffBuild(olds, news);
}

export async function create(inputs: BuildProps): Promise<pulumi.dynamic.CreateResult> {
  return { id: inputs.name, outs: await build(inputs, undefined) };
}

export async function update(_id: string, olds: BuildProps, news: BuildProps): Promise<pulumi.dynamic.UpdateResult> {
  const why = rebuildReason(olds, news);
  // Only settings changed: the system built stays; nothing on the host is touched.
  if (why === undefined) return { outs: { ...news, system: olds.system, pinnedHostKey: olds.pinnedHostKey ?? "" } };
  if (olds.system) progress(`${news.name}: building again: ${why}`);
  return { outs: await build(news, olds) };
}

/** A refresh: a build whose system or staged files are gone is recorded as gone, so the next run builds again. */
export async function read(id: string, props: BuildProps): Promise<pulumi.dynamic.ReadResult> {
  if (!props.system) return { id, props };
  const spec = buildSpecOf(props);
  const connector = connectorFor(spec, { trustedHostKey: props.pinnedHostKey || undefined });
  const lost = await checkBuilt({ dir: spec.stagingDir, system: props.system, fileHashes: fileHashes(spec.files) }, connector, spec.timeouts.connectSeconds);
  if (lost === undefined) return { id, props };
  progress(`${spec.name}: ${lost}; the next rollout builds it again`);
  return { id, props: { ...props, system: "" } };
}

/** A host leaving the fleet: its machine is not touched (its staging folder stays until a later build of it). */
export async function remove(): Promise<void> {
  return undefined;
}
