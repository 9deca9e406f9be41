import { describeAllowed, violation, type VolumeCheck } from './check-result';

/** A volume driver only from the policy's list: another driver is another storage backend. */
export const volumeDriversCheck: VolumeCheck = (vol, rules, ctx) => {
  const allowed = rules.volumes?.allowedDrivers;
  if (!allowed || allowed.includes(vol.driver)) return [];
  return [
    violation(
      ctx,
      'volumes.allowedDrivers',
      `volume driver ${vol.driver} is not allowed (allowed: ${describeAllowed(allowed)})`,
      { volume: vol.name, driver: vol.driver, allowed: [...allowed] },
    ),
  ];
};
