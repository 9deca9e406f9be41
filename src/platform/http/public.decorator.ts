import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'warden:public';
/** Marks a route that needs no token (health, metrics, docs). Everything else does. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
