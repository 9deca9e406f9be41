import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import type { HttpTlsConfig } from '../config';
import { toErrorBody, WardenError } from '../errors';

/** What the HTTP port serves: PEM material, or nothing for plain HTTP. */
export interface HttpTls {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 of the certificate (DER), as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string;
  /** Where the certificate is, so a client can be told what to trust. */
  certFile: string;
  selfSigned: boolean;
}

/** 127.0.0.0/8, ::1, the v4-mapped form and `localhost`: addresses only this host reaches. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/i, '');
  if (a === 'localhost' || a === '::1') return true;
  return isIP(a) === 4 && a.startsWith('127.');
}

/**
 * The HTTP port's certificate. Given files are used as they are; bound beyond loopback with
 * none (WARDEN_TLS=auto), a self-signed one is made once under `<data dir>/tls` and kept, so
 * its fingerprint stays what the operator pinned.
 */
export function resolveHttpTls(tls: HttpTlsConfig, host: string, dataDir: string): HttpTls | undefined {
  if (tls.mode === 'files') return load(tls.cert, tls.key, false);
  if (tls.mode === 'off' || isLoopback(host)) return undefined;
  const dir = path.join(dataDir, 'tls');
  const cert = path.join(dir, 'http-cert.pem');
  const key = path.join(dir, 'http-key.pem');
  if (!fs.existsSync(cert) || !fs.existsSync(key)) selfSign(dir, cert, key, host);
  return load(cert, key, true);
}

function load(certFile: string, keyFile: string, selfSigned: boolean): HttpTls {
  const cert = fs.readFileSync(certFile);
  const key = fs.readFileSync(keyFile);
  let fingerprint: string;
  try {
    fingerprint = new X509Certificate(cert).fingerprint256;
  } catch (err) {
    throw new Error(`${certFile} is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  return { cert, key, fingerprint, certFile, selfSigned };
}

/** A P-256 key and a certificate naming this host's loopback and bound addresses. */
function selfSign(dir: string, certFile: string, keyFile: string, host: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];
  if (isIP(host) && host !== '0.0.0.0' && host !== '::') names.push(`IP:${host}`);
  const tmpKey = `${keyFile}.${process.pid}.tmp`;
  const tmpCert = `${certFile}.${process.pid}.tmp`;
  try {
    // openssl comes with ca-certificates on Debian; Node's crypto cannot issue certificates.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '825',
        '-subj',
        '/CN=warden',
        '-addext',
        `subjectAltName=${names.join(',')}`,
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 },
    );
    fs.chmodSync(tmpKey, 0o600);
    fs.renameSync(tmpKey, keyFile);
    fs.renameSync(tmpCert, certFile);
  } catch (err) {
    fs.rmSync(tmpKey, { force: true });
    fs.rmSync(tmpCert, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(
      `could not make a self-signed certificate in ${dir}: ${stderr || (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * A bearer token sent in clear text from another host has been exposed on the way: refuse it
 * before any route reads it (REST, `/v2/`, `/ui` alike). Loopback peers are this host's own
 * (or a TLS-terminating proxy on it); TLS connections are what everyone else must use.
 */
export function refusePlainTokens(req: Request, res: Response, next: NextFunction): void {
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  if (encrypted || !req.headers.authorization || isLoopback(req.socket.remoteAddress)) return next();
  const body = toErrorBody(
    new WardenError(
      'TLS_REQUIRED',
      `credentials are refused over plain HTTP from ${req.socket.remoteAddress}: the token may have been seen on the way; revoke it and connect with https`,
    ),
    req,
  );
  res.status(body.statusCode).json(body);
}
