# Evaluates NixOS modules for a simulated host: the module system of modules.nix with the
# options of base/ and the package set of the channel revision channel.nix names. eval.nix
# evaluates a configuration.nix with it; a flake's stand-in nixpkgs (nixos-system.nix) its
# modules. `summary` is what the host tools need to build the system: the kernel-related
# values and the whole evaluated configuration as JSON (it fails as NixOS does on unknown
# options and failed assertions, and traces the warnings).
{ modules, specialArgs ? { } }:
let
  b = builtins;
  lib = import ./lib.nix;
  channel = import ./channel.nix;
  pkgs = import ./pkgs.nix { inherit lib channel; };
  # A string, as NixOS's eval-config.nix passes it (builtins.toString ../modules): "${modulesPath}/…"
  # then names the file where it is instead of copying the whole folder into the store.
  modulesPath = toString ./nixpkgs/nixos/modules;
  inherit (import ./modules.nix { inherit lib; }) evalModules showDefs;

  evaluated = evalModules {
    modules = modules ++ [ ./base/boot.nix ./base/system.nix ./base/services.nix ];
    args = { inherit pkgs modulesPath; } // specialArgs;
  };
  config = evaluated.config;

  # Top-level namespaces of NixOS's own options; anything else must be declared by a module.
  knownTopLevel = [
    "_module" "appstream" "assertions" "boot" "console" "containers" "documentation" "ec2" "environment"
    "fileSystems" "fonts" "gnu" "hardware" "i18n" "ids" "krb5" "lib" "location" "meta" "networking" "nix"
    "nixpkgs" "powerManagement" "programs" "qt" "security" "services" "snapraid" "sound" "specialisation"
    "swapDevices" "system" "systemd" "time" "users" "virtualisation" "warnings" "xdg" "zramSwap"
  ];
  unknownTopLevel = b.filter (n: !(b.elem n knownTopLevel) && !(evaluated.decls ? ${n}))
    (b.attrNames evaluated.root.children);
  checkedOptions =
    if unknownTopLevel == [ ] then true
    else
      let
        name = b.head unknownTopLevel;
        defs = map (d: { inherit (d) file; value = d.value.${name}; })
          (b.filter (d: b.isAttrs d.value && d.value ? ${name}) evaluated.defs);
      in
      throw "The option `${name}' does not exist. Definition values:${showDefs defs}";

  failedAssertions = map (a: a.message) (b.filter (a: !a.assertion) config.assertions);
  checkedAssertions =
    if failedAssertions == [ ] then true
    else throw "\nFailed assertions:\n${b.concatStringsSep "\n" (map (m: "- ${m}") failedAssertions)}";

  # JSON-safe copy of a value: packages become their store paths, functions a marker.
  sanitize = depth: v:
    if b.isFunction v then "<function>"
    else if b.isPath v then (if b.pathExists v then "${v}" else toString v)
    else if b.isList v then map (sanitize (depth + 1)) v
    else if !(b.isAttrs v) then v
    else if (v.type or null) == "derivation" then v.outPath
    else if v ? _simPackageSet then "<package set>"
    else if depth > 30 then "<nested too deeply>"
    else b.mapAttrs (_: sanitize (depth + 1)) v;

  # The configuration as JSON: every defined value; empty sets are dropped.
  serialize = node:
    let
      kept = b.concatMap (n:
        let
          child = node.children.${n};
          value = if child.kind == "set" then serialize child else sanitize 0 child.value;
          keep = if child.kind == "set" then value != { } else child.defined;
        in
        if keep then [{ name = n; inherit value; }] else [ ])
        (b.attrNames (b.removeAttrs node.children [ "_module" ]));
    in
    b.listToAttrs kept;

  kernel = config.boot.kernelPackages.kernel;
  showWarnings = res: lib.foldr (w: acc: b.trace "warning: ${w}" acc) res config.warnings;
  summary =
    assert checkedOptions;
    assert checkedAssertions;
    showWarnings {
      hostName = config.networking.hostName;
      nixos = {
        inherit (config.system.nixos) version release codeName label revision;
        inherit (config.system) stateVersion configurationRevision;
      };
      kernel = {
        inherit (kernel) version;
        modDirVersion = kernel.modDirVersion or kernel.version;
        package = kernel.outPath;
        patches = sanitize 0 config.boot.kernelPatches;
      };
      extraModulePackages = map toString config.boot.extraModulePackages;
      kernelParams = config.boot.kernelParams;
      systemPackages = map (p: p.name or (toString p)) config.environment.systemPackages;
      config = serialize evaluated.root;
    };
in
{ inherit summary config pkgs; inherit (evaluated) decls; }
