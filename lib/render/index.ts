/**
 * Nix rendering: the one value serializer and the per-host files under /etc/nixos.
 */
export type { HostNixData, InterfaceAddress } from "./hostData";
export { NixValueError, nixAttrName, nixNumber, nixString, toNix, type NixAttrs, type NixValue } from "./nixValue";
export { STATIC_MODULES, renderConfiguration, renderHostFiles, renderHostNix, userModuleFile, type RenderInput, type UserModule } from "./render";
export { nixModulesDir, readStaticModules } from "./static";
