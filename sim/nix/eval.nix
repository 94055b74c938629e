# Evaluates a NixOS configuration for a simulated host with the real nix-instantiate:
#
#   nix-instantiate --eval --strict --json --readonly-mode sim/nix/eval.nix \
#     --argstr configuration /etc/nixos/configuration.nix
#
# and prints what the host tools need to build the system: the kernel-related values and
# the whole evaluated configuration as JSON. Evaluation errors are Nix's own.
{ configuration }:
(import ./evaluate.nix { modules = [ configuration ]; }).summary
