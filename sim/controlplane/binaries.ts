/**
 * Where the control plane's programs are: the binaries scripts/install-kube.sh builds into the
 * tool cache named by scripts/env.sh (FLEET_KUBE_BIN, FLEET_ETCD_BIN). The versions and the
 * cache folder are decided there only; a process that did not source env.sh asks it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** The programs a control plane runs, plus kubectl of the same release. */
export interface ControlPlaneBinaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
}

/** The command that builds every binary of ControlPlaneBinaries (run from the checkout). */
export const BUILD_COMMAND = "bash scripts/install-kube.sh";

/** The checkout this module belongs to (dist/sim/controlplane → the repository root). */
const PROJECT_DIR = path.resolve(__dirname, "../../..");

/** The binaries inside the two folders install-kube.sh fills. */
export function binariesIn(kubeBin: string, etcdBin: string): ControlPlaneBinaries {
  return {
    etcd: path.join(etcdBin, "etcd"),
    kubeApiserver: path.join(kubeBin, "kube-apiserver"),
    kubeControllerManager: path.join(kubeBin, "kube-controller-manager"),
    kubeScheduler: path.join(kubeBin, "kube-scheduler"),
    kubectl: path.join(kubeBin, "kubectl"),
  };
}

/** The binaries of the pinned release, from the environment scripts/env.sh sets or by asking it. */
export function locateBinaries(env: NodeJS.ProcessEnv = process.env, projectDir: string = PROJECT_DIR): ControlPlaneBinaries {
  let kubeBin = env.FLEET_KUBE_BIN;
  let etcdBin = env.FLEET_ETCD_BIN;
  if (!kubeBin || !etcdBin) {
    const envScript = path.join(projectDir, "scripts", "env.sh");
    const r = spawnSync("bash", ["-c", 'source "$1" && printf "%s\\n%s\\n" "$FLEET_KUBE_BIN" "$FLEET_ETCD_BIN"', "env.sh", envScript], {
      encoding: "utf8",
      timeout: 10_000,
      env: { ...env, FLEET_KUBE_BIN: "", FLEET_ETCD_BIN: "" },
    });
    const [kube, etcd] = (r.stdout ?? "").split("\n");
    if (r.status !== 0 || !kube || !etcd) {
      throw new Error(
        `cannot tell where the control plane's binaries are: \`source ${envScript}\` ` +
          `(exit ${String(r.status)}) did not set FLEET_KUBE_BIN and FLEET_ETCD_BIN: ${(r.stderr ?? r.error?.message ?? "").trim()}`,
      );
    }
    kubeBin = kube;
    etcdBin = etcd;
  }
  return binariesIn(kubeBin, etcdBin);
}

/** The binaries that do not exist or are not executable. */
export function missingBinaries(b: ControlPlaneBinaries): string[] {
  return Object.values(b).filter((file: string) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return !fs.statSync(file).isFile();
    } catch {
      return true;
    }
  });
}

/** Throws, naming the missing files and the command that builds them, unless every binary is there. */
export function requireBinaries(b: ControlPlaneBinaries): ControlPlaneBinaries {
  const missing = missingBinaries(b);
  if (missing.length > 0) {
    throw new Error(
      `the Kubernetes control plane is not built: missing ${missing.join(", ")}. ` +
        `Build it with \`${BUILD_COMMAND}\` in ${PROJECT_DIR} (cold: about 24 CPU-minutes; scripts/setup.sh runs it too).`,
    );
  }
  return b;
}
