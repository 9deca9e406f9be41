import type { Principal } from '../platform/http';

/** The principal behind WARDEN_ADMIN_TOKEN. */
export const BOOTSTRAP_ADMIN: Principal = { id: 'admin', role: 'admin', teams: [] };
