# A machine without a display.
{ lib, ... }:
{
  boot.kernelParams = [ "panic=1" "boot.panic_on_fail" ];
}
