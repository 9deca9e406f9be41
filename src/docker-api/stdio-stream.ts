import { muxFrames, type StdStream } from './frames';

/**
 * The one place that decides how a container's or an exec's output goes on the wire (Engine
 * API, "Attach to a container"): with a TTY the stream is raw, the terminal's bytes as they
 * come (there is no stderr); without one each chunk is an 8-byte-framed multiplexed frame.
 * Attach, exec start, logs and the WebSocket attach all write through `encode`, so whatever
 * needs the output itself (a transcript) takes it before this, as plain bytes.
 */
export interface OutputEncoding {
  contentType: string;
  encode(stream: StdStream, data: Buffer | string): Buffer;
}

const RAW: OutputEncoding = {
  contentType: 'application/vnd.docker.raw-stream',
  encode: (_stream, data) => (typeof data === 'string' ? Buffer.from(data, 'utf8') : data),
};
const MULTIPLEXED: OutputEncoding = {
  contentType: 'application/vnd.docker.multiplexed-stream',
  encode: muxFrames,
};

/**
 * A WebSocket attach is raw either way (moby's `attach/ws`: binary messages, never framed);
 * the hijacked HTTP streams are framed unless there is a terminal.
 */
export function outputEncoding(tty: boolean, transport: 'http' | 'websocket' = 'http'): OutputEncoding {
  return tty || transport === 'websocket' ? RAW : MULTIPLEXED;
}
