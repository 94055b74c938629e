/**
 * Realises a planned system in the host's /nix/store: the kernel, initrd and kernel
 * modules as their own store paths, and the system with the files NixOS puts in a
 * toplevel (kernel/initrd symlinks, kernel-params, nixos-version, init, boot.json,
 * bin/switch-to-configuration, sw/bin, etc/). Store paths are immutable: one that
 * exists is left as it is, and each is made in a temporary folder and renamed into place.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CLOSURE_FILE, closureOf } from "./closure";
import { installSystemTools } from "./install-tools";
import { at } from "./json-path";
import type { SystemPlan } from "./plan";
import { BOOTSPEC_FILE, SYSTEM_CONFIG_FILE, SYSTEM_INFO_FILE, type Bootspec, type SystemInfo } from "./system-info";

function write(dir: string, rel: string, text: string, mode = 0o444): void {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
}

/** Creates `storePath` by filling a temporary folder; returns false when it already existed. */
export function createStorePath(storePath: string, fill: (dir: string) => void): boolean {
  if (fs.existsSync(storePath)) return false;
  const tmp = path.join(path.dirname(storePath), `.tmp-${process.pid}-${path.basename(storePath)}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    fill(tmp);
    fs.renameSync(tmp, storePath);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (fs.existsSync(storePath)) return false;
    throw e;
  }
  return true;
}

/** The store paths of `plan` that are not in the store yet, in build order. */
export function missingPaths(plan: SystemPlan): string[] {
  return [plan.kernel, plan.modules, plan.initrd, plan.system].filter((i) => !fs.existsSync(i.path)).map((i) => i.path);
}

/** The system's record (etc/nixos-sim/system.json). */
export function systemInfo(plan: SystemPlan): SystemInfo {
  return {
    system: plan.system.path,
    hostName: plan.hostName,
    nixosVersion: plan.nixosVersion,
    codeName: plan.codeName,
    revision: plan.revision,
    label: plan.label,
    kernelVersion: plan.kernelVersion,
    kernel: plan.kernel.image,
    initrd: plan.initrd.image,
    kernelModules: plan.modules.path,
    kernelParams: plan.kernelParams,
    units: plan.units,
    failingUnits: plan.failingUnits,
    systemPackages: plan.systemPackages,
  };
}

function osRelease(plan: SystemPlan): string {
  const release = plan.evaluation.nixos.release;
  return [
    `ANSI_COLOR="1;34"`,
    `BUG_REPORT_URL="https://github.com/NixOS/nixpkgs/issues"`,
    `BUILD_ID="${plan.nixosVersion}"`,
    `DOCUMENTATION_URL="https://nixos.org/learn.html"`,
    `HOME_URL="https://nixos.org/"`,
    `ID=nixos`,
    `LOGO="nix-snowflake"`,
    `NAME=NixOS`,
    `PRETTY_NAME="NixOS ${release} (${plan.codeName})"`,
    `SUPPORT_URL="https://nixos.org/community.html"`,
    `VERSION="${release} (${plan.codeName})"`,
    `VERSION_CODENAME=${plan.codeName.toLowerCase()}`,
    `VERSION_ID="${release}"`,
    "",
  ].join("\n");
}

/** Writes every missing store path of `plan`; returns the paths it created. */
export function realiseSystem(plan: SystemPlan, toolsDir: string): string[] {
  const created: string[] = [];
  const kver = plan.modDirVersion;
  if (createStorePath(plan.kernel.path, (d) => {
    write(d, "bzImage", `Linux kernel ${plan.kernelVersion} (simulated image)\n`);
    write(d, "System.map", `ffffffff81000000 T _text\n`);
    write(d, `lib/modules/${kver}/modules.builtin`, "");
  })) created.push(plan.kernel.path);
  if (createStorePath(plan.modules.path, (d) => {
    const extra = plan.evaluation.extraModulePackages;
    write(d, `lib/modules/${kver}/modules.dep`, extra.map((p) => `${p}\n`).join(""));
  })) created.push(plan.modules.path);
  if (createStorePath(plan.initrd.path, (d) => {
    write(d, "initrd", `initrd for Linux ${plan.kernelVersion} (simulated image)\n`);
  })) created.push(plan.initrd.path);
  if (createStorePath(plan.system.path, (d) => fillSystem(plan, toolsDir, d))) created.push(plan.system.path);
  return created;
}

function fillSystem(plan: SystemPlan, toolsDir: string, d: string): void {
  const sys = plan.system.path;
  fs.symlinkSync(plan.kernel.image, path.join(d, "kernel"));
  fs.symlinkSync(plan.initrd.image, path.join(d, "initrd"));
  fs.symlinkSync(plan.modules.path, path.join(d, "kernel-modules"));
  write(d, "kernel-params", plan.kernelParams.join(" "));
  write(d, "nixos-version", plan.nixosVersion);
  write(d, "system", "x86_64-linux");
  write(d, "init-interface-version", "systemd");
  write(d, "init", `#!/bin/sh\n# Stage 2 init of ${sys}.\n# On a simulated host the fleet boots the system; nothing runs this script.\nexit 0\n`, 0o555);
  write(d, "activate", `#!/bin/sh\n# Activation script of ${sys} (simulated; switch-to-configuration does the work).\nexit 0\n`, 0o555);
  fs.mkdirSync(path.join(d, "specialisation"));
  const bootspec: Bootspec = {
    "org.nixos.bootspec.v1": {
      init: `${sys}/init`,
      initrd: plan.initrd.image,
      kernel: plan.kernel.image,
      kernelParams: plan.kernelParams,
      label: plan.label,
      system: "x86_64-linux",
      toplevel: sys,
    },
    "org.nixos.specialisation.v1": {},
  };
  write(d, BOOTSPEC_FILE, `${JSON.stringify(bootspec, null, 2)}\n`);
  write(d, "etc/hostname", `${plan.hostName}\n`);
  write(d, "etc/os-release", osRelease(plan));
  write(d, SYSTEM_INFO_FILE, `${JSON.stringify(systemInfo(plan), null, 2)}\n`);
  write(d, SYSTEM_CONFIG_FILE, `${JSON.stringify(plan.evaluation.config, null, 2)}\n`);
  write(d, CLOSURE_FILE, `${JSON.stringify(closureOf(plan), null, 2)}\n`);
  installSystemTools(sys, toolsDir, d, at(plan.evaluation.config, "services.k3s.enable") === true);
}
