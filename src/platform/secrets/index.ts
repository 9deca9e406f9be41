export { SecretBox, SecretBoxError } from './secret-box';
