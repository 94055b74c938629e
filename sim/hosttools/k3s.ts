/**
 * `k3s` and `kubectl` of a system with services.k3s.enable, as the k3s package puts them on a
 * NixOS host's PATH: `kubectl` and `k3s kubectl` run kubectl (the control plane's own release,
 * named by the fleet) with root's default of /etc/rancher/k3s/k3s.yaml when KUBECONFIG is not
 * set and that file exists (k3s writes it on servers only); `k3s --version` names the k3s of
 * the system. k3s's daemons run as k3s.service; its other subcommands are not simulated and
 * say so.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { ENV } from "../layout";
import { ownSystem, processIo, runProgram, type Io } from "./cli";
import { readSystemInfo } from "./system-info";

/** k3s's default kubeconfig for root. */
export const K3S_YAML = "/etc/rancher/k3s/k3s.yaml";

/** The environment kubectl runs with: KUBECONFIG defaults to k3s.yaml when it exists. Pure apart from `exists`. */
export function kubectlEnv(env: NodeJS.ProcessEnv, exists: (file: string) => boolean): NodeJS.ProcessEnv {
  if (env.KUBECONFIG !== undefined && env.KUBECONFIG !== "") return env;
  return exists(K3S_YAML) ? { ...env, KUBECONFIG: K3S_YAML } : env;
}

/** The k3s version of a system's package list ("1.30.3+k3s1"), undefined when it has none. */
export function k3sVersionOf(packages: readonly string[]): string | undefined {
  return packages.map((p) => /(?:^|[-/])k3s-(\d[^/]*)$/.exec(p)?.[1]).find((v) => v !== undefined);
}

function runKubectl(args: readonly string[], io: Io): Promise<number> {
  const kubectl = process.env[ENV.kubectl];
  if (kubectl === undefined || kubectl === "") {
    io.err(`kubectl: the simulated host was not told where kubectl is (${ENV.kubectl} is not set)\n`);
    return Promise.resolve(1);
  }
  return new Promise((resolve) => {
    const child = spawn(kubectl, args, { stdio: "inherit", env: kubectlEnv(process.env, (f) => fs.existsSync(f)) });
    child.on("error", (e) => {
      io.err(`kubectl: cannot run ${kubectl}: ${e.message}\n`);
      resolve(127);
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + 15)));
  });
}

/** `k3s ARGS` (or `kubectl ARGS` when `argv[0]` is "kubectl"). */
export async function k3s(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "kubectl") return runKubectl(rest, io);
  if (command === "--version" || command === "-v" || command === "version") {
    const system = ownSystem();
    const version = system === undefined ? undefined : k3sVersionOf(readSystemInfo(system).systemPackages);
    io.out(`k3s version v${version ?? "unknown"}\n`);
    return 0;
  }
  io.err(
    `k3s: ${command === undefined ? "no command given" : `\`k3s ${command}\` is not available on this simulated host`}; ` +
      "k3s runs as k3s.service (systemctl start|stop|restart k3s), and `k3s kubectl` / `kubectl` reach its API\n",
  );
  return 1;
}

if (require.main === module) {
  runProgram("k3s", (argv) => k3s(argv, processIo));
}
