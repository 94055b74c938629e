# `import <nixpkgs/lib>` on a simulated host.
import ../../lib.nix
