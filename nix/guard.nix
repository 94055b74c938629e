# managed by nixos-fleet: the boot half of the guard against a configuration that cuts the host off.
# Before rebooting into a new system, a rollout writes /var/lib/nixos-fleet/guard/boot
# (system=, previous=, seconds=). When this boot runs that system, the unit takes the file as
# its own (boot.waiting) and waits `seconds`. A rollout confirms the boot over a new SSH
# connection by renaming the file away, under either name; when nobody has within `seconds`,
# the host makes the previous system its boot default again and reboots into it. A rollout that
# confirms this boot and arms the next one before the wait ends writes a new `boot`, which this
# unit never touches. Nothing happens on a boot nobody armed.
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
      waiting=$dir/boot.waiting
      [ -e "$armed" ] || exit 0
      value() { sed -n "s/^$1=//p" "$2" 2>/dev/null || true; }
      booted=$(readlink -f /run/booted-system)
      system=$(value system "$armed")
      if [ "$booted" != "$system" ]; then
        echo "armed for $system, but this boot runs $booted: nothing to guard"
        exit 0
      fi
      if ! mv "$armed" "$waiting" 2>/dev/null; then
        echo "confirmed"
        exit 0
      fi
      # What is acted on is what was taken, read once: the file read above may have been replaced
      # meanwhile, and a rollout that confirms this boot renames the taken one away at any time.
      if ! taken=$(cat "$waiting" 2>/dev/null); then
        echo "confirmed"
        exit 0
      fi
      field() { printf '%s\n' "$taken" | sed -n "s/^$1=//p"; }
      system=$(field system)
      previous=$(field previous)
      seconds=$(field seconds)
      if [ "$booted" != "$system" ]; then
        mv -n "$waiting" "$armed" 2>/dev/null || true
        echo "armed for $system, but this boot runs $booted: nothing to guard"
        exit 0
      fi
      case "$seconds" in
        "" | *[!0-9]*)
          echo "$waiting holds no whole number of seconds (seconds=$seconds): nothing guarded"
          exit 1
          ;;
      esac
      echo "waiting ''${seconds}s for a rollout to confirm $system over SSH"
      sleep "$seconds"
      if ! mv "$waiting" "$armed.fired" 2>/dev/null; then
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
