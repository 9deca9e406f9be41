export { Public, IS_PUBLIC } from './public.decorator';
export { ZodPipe, ApiZodBody, ApiZodParam, ApiZodQuery, describeIssues } from './zod';
export { ROLES, ROLES_KEY, Roles, CurrentCaller } from './caller';
export type { Role, Principal, Caller, CallerSource } from './caller';
export * from './validation';
export { isLoopback, resolveHttpTls, refusePlainTokens } from './tls';
export type { HttpTls } from './tls';
