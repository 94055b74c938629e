# Kernels of the simulated channel: linux_6_1 ... plus linuxPackages_* sets with a few
# out-of-tree module packages, the way nixpkgs shapes them (linuxPackagesFor kernel).
{ lib, mkPackage, channel }:
let
  b = builtins;
  branch = key: b.getAttr key channel.kernels;

  mkKernel = version: mkPackage {
    pname = "linux";
    inherit version;
    extra = { kernelVersion = version; };
  } // {
    inherit version;
    modDirVersion = version;
    features = { };
    isHardened = false;
    kernelAtLeast = lib.versionAtLeast version;
    kernelOlder = lib.versionOlder version;
    meta = { description = "The Linux kernel (simulated)"; branch = lib.versions.majorMinor version; };
  };

  moduleVersions = {
    zfs = "2.2.5";
    nvidia_x11 = "550.107.02";
    v4l2loopback = "0.13.2";
    acpi_call = "1.2.2";
    drbd = "9.2.10";
    r8125 = "9.013.02";
    xone = "0.3";
    turbostat = "6.6";
    cpupower = "6.6";
    perf = "6.6";
    wireguard = "1.0.20220627";
    ena = "2.12.0";
  };

  linuxPackagesFor = kernel:
    let
      modules = b.mapAttrs (pname: version: mkPackage {
        inherit pname;
        version = "${version}-${kernel.version}";
        extra = { kernel = kernel.outPath; };
      }) moduleVersions;
    in
    modules // {
      inherit kernel;
      kernelOlder = kernel.kernelOlder;
      kernelAtLeast = kernel.kernelAtLeast;
    };

  kernelsByBranch = b.mapAttrs (_: mkKernel) channel.kernels;
  packagesByBranch = b.mapAttrs (_: linuxPackagesFor) kernelsByBranch;
  attrsWithPrefix = prefix: set: lib.mapAttrs' (n: v: lib.nameValuePair "${prefix}${n}" v) set;
in
attrsWithPrefix "linux_" kernelsByBranch
// attrsWithPrefix "linuxPackages_" packagesByBranch
// {
  linux = mkKernel (branch channel.defaultKernel);
  linux_latest = mkKernel (branch channel.latestKernel);
  linuxPackages = packagesByBranch.${channel.defaultKernel};
  linuxPackages_latest = packagesByBranch.${channel.latestKernel};
  linuxPackagesFor = linuxPackagesFor;
  linuxKernel = {
    kernels = attrsWithPrefix "linux_" kernelsByBranch;
    packages = attrsWithPrefix "linux_" packagesByBranch;
    packagesFor = linuxPackagesFor;
  };
}
