import * as http from 'node:http';

/** A JSON reply; fields are read where the bench knows the route's shape. */
export interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- replies of many routes; benches read the fields they know
  body: any;
}

/**
 * One REST call with a bearer token, JSON in and out, on a keep-alive agent. node:http rather
 * than fetch, whose per-request overhead in a bench's process would be counted against the
 * server. Shared by the in-process bench client and the one in its own process.
 */
export function jsonRequest(
  agent: http.Agent,
  base: string,
  token: string,
  method: string,
  p: string,
  body?: unknown,
): Promise<Reply> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${p}`,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
