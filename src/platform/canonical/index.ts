// canonical: what other modules may use.
export { canonicalJson, sha256Hex } from './canonical-json';
