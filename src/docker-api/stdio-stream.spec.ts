import { FrameReader } from './frames';
import { outputEncoding } from './stdio-stream';

describe('the output encoding: raw with a terminal, multiplexed without', () => {
  it('a terminal gets its bytes as they are; stderr has no frame to go in', () => {
    const raw = outputEncoding(true);
    expect(raw.contentType).toBe('application/vnd.docker.raw-stream');
    expect(raw.encode('stdout', 'a\r\n')).toEqual(Buffer.from('a\r\n'));
  });

  it('a WebSocket attach is raw even without a terminal (moby: binary messages, no frames)', () => {
    expect(outputEncoding(false, 'websocket').encode('stderr', 'e')).toEqual(Buffer.from('e'));
  });

  it('without one each chunk is an 8-byte-framed frame of its stream', () => {
    const mux = outputEncoding(false);
    expect(mux.contentType).toBe('application/vnd.docker.multiplexed-stream');
    const frames = new FrameReader().push(
      Buffer.concat([mux.encode('stdout', 'o'), mux.encode('stderr', 'e')]),
    );
    expect(frames.map((f) => [f.stream, f.payload.toString()])).toEqual([
      ['stdout', 'o'],
      ['stderr', 'e'],
    ]);
  });
});
