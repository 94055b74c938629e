# The package set of the simulated channel. Packages are real (never built) derivations,
# so they have genuine store paths, `"${pkgs.htop}"` works, and an unknown attribute fails
# with Nix's own "attribute 'x' missing" / "undefined variable 'x'" error.
{ lib, channel }:
let
  b = builtins;
  system = "x86_64-linux";

  mkPackage = { pname, version, name ? "${pname}-${version}", extra ? { }, meta ? { } }:
    let
      drv = derivation ({
        inherit name;
        inherit system pname version;
        builder = "/bin/sh";
        args = [ "-c" "echo this package is only simulated; exit 1" ];
      } // extra);
      self = drv // {
        inherit pname version;
        meta = { description = "${pname} (simulated)"; mainProgram = pname; platforms = lib.platforms.linux; } // meta;
        overrideAttrs = f:
          let new = if b.isFunction f then f self else f; in
          mkPackage { pname = new.pname or pname; version = new.version or version; extra = extra // { override = b.toJSON (b.attrNames new); }; };
        override = args: mkPackage { inherit pname version; extra = extra // { override = b.toJSON (b.attrNames args); }; };
      };
    in
    self;

  simple = b.mapAttrs (pname: version: mkPackage { inherit pname version; }) (import ./package-versions.nix { inherit channel; });

  writeTextFile = { name, text ? "", executable ? false, destination ? "", ... }:
    mkPackage { pname = name; version = ""; inherit name; extra = { inherit text destination; executable = if executable then "1" else ""; }; };

  kernels = import ./kernels.nix { inherit lib mkPackage channel; };
  self = simple // kernels // rec {
    inherit lib system;
    pkgs = self;
    # Lets the serialiser recognise the package set instead of walking into it.
    _simPackageSet = true;
    config = { allowUnfree = false; };
    hostPlatform = { inherit system; isLinux = true; isx86_64 = true; isAarch64 = false; };
    buildPlatform = hostPlatform;
    stdenv = {
      inherit hostPlatform buildPlatform system;
      isLinux = true;
      isDarwin = false;
      mkDerivation = attrs:
        let
          pname = attrs.pname or (b.parseDrvName attrs.name).name;
          version = attrs.version or (b.parseDrvName attrs.name).version;
        in
        mkPackage { inherit pname version; extra = { src = toString (attrs.src or ""); }; };
    };
    python3Packages = { };
    inherit writeTextFile;
    writeText = name: text: writeTextFile { inherit name text; };
    writeTextDir = path: text: writeTextFile { name = b.baseNameOf path; inherit text; destination = "/${path}"; };
    writeScript = name: text: writeTextFile { inherit name text; executable = true; };
    writeScriptBin = name: text: writeTextFile { inherit name text; executable = true; destination = "/bin/${name}"; };
    writeShellScript = name: text: writeTextFile { inherit name; text = "#!/bin/sh\n" + text; executable = true; };
    writeShellScriptBin = name: text: writeTextFile { inherit name; text = "#!/bin/sh\n" + text; executable = true; destination = "/bin/${name}"; };
    writeShellApplication = { name, text, ... }: writeShellScriptBin name text;
    runCommand = name: env: script: writeTextFile { inherit name; text = script + b.toJSON (b.attrNames env); };
    runCommandLocal = runCommand;
    symlinkJoin = { name, paths ? [ ], ... }: writeTextFile { inherit name; text = b.concatStringsSep "\n" (map toString paths); };
    fetchurl = { url ? "", urls ? [ ], name ? b.baseNameOf (if url != "" then url else b.head urls), ... }:
      writeTextFile { inherit name; text = url; };
    fetchFromGitHub = { owner, repo, rev ? "", tag ? "", ... }:
      writeTextFile { name = "source"; text = "${owner}/${repo}@${rev}${tag}"; };
    callPackage = fn: overrides:
      let
        f = if b.isFunction fn then fn else import fn;
        available = simple // kernels // { inherit lib stdenv fetchurl writeText writeShellScript writeShellScriptBin runCommand symlinkJoin; };
        args = b.intersectAttrs (b.functionArgs f) available // overrides;
      in
      f args;
  };
in
self
