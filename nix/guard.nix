# managed by nixos-fleet: the boot half of the guard against a configuration that cuts the host off.
# Before rebooting into a new system, a rollout writes /var/lib/nixos-fleet/guard/boot
# (system=, previous=, seconds=). When this boot runs that system and no rollout confirms it over
# a new SSH connection (by renaming the file away) within `seconds`, the host makes the previous
# system its boot default again and reboots into it. Nothing happens on a boot nobody armed.
{ ... }:
{
  systemd.services.nixos-fleet-boot-guard = {
    description = "nixos-fleet: return to the previous system unless a rollout confirms this boot";
    wantedBy = [ "multi-user.target" ];
    after = [ "network.target" "sshd.service" ];
    # It only ever acts at boot; a live switch must not restart its wait.
    restartIfChanged = false;
    script = ''
      dir=/var/lib/nixos-fleet/guard
      armed=$dir/boot
      [ -e "$armed" ] || exit 0
      value() { sed -n "s/^$1=//p" "$armed"; }
      system=$(value system)
      previous=$(value previous)
      seconds=$(value seconds)
      booted=$(readlink -f /run/booted-system)
      if [ "$booted" != "$system" ]; then
        echo "armed for $system, but this boot runs $booted: nothing to guard"
        exit 0
      fi
      echo "waiting ''${seconds}s for a rollout to confirm $system over SSH"
      sleep "$seconds"
      if ! mv "$armed" "$armed.fired" 2>/dev/null; then
        echo "confirmed"
        exit 0
      fi
      echo "not confirmed within ''${seconds}s: returning to $previous"
      "$previous/sw/bin/nix-env" -p /nix/var/nix/profiles/system --set "$previous"
      "$previous/bin/switch-to-configuration" boot
      systemctl reboot
    '';
  };
}
