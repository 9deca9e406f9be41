import type { Caller } from '../../platform/http';

/** Warden acting on its own: an auto-remove, the restart policy, a health check. */
export const SYSTEM_CALLER: Caller = {
  principal: { id: 'system', role: 'admin', teams: [] },
  source: { via: 'system' },
};
