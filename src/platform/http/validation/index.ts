export * from './fields';
export { jsonProblem, MAX_DEPTH, rejectBadBytes, urlProblem } from './nul-guard';
