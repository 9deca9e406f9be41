// streams: helpers for streams whose readers may leave at any time.
export { addTarEntry } from './tar-entry';
