/** Nest injection token for the validated WardenConfig. */
export const WARDEN_CONFIG = Symbol('WARDEN_CONFIG');
