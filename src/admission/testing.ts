import * as fs from 'node:fs';
import * as path from 'node:path';
import { podTemplateOf, type PodTemplate } from './pod-template';

/** A committed AdmissionReview fixture (test/fixtures/admission, made by make-fixtures.sh). */
export function reviewFixture(name: string): {
  apiVersion: string;
  kind: string;
  request: Record<string, unknown> & { uid: string; object: Record<string, unknown> };
} {
  const file = path.join(__dirname, '../../test/fixtures/admission', `${name}.review.json`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// Fixtures are changed field by field in tests, in the shapes Kubernetes gives them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Mutable = any;

/** The pod (or template) of a fixture, optionally changed first. */
export function podOf(name: string, change?: (object: Mutable) => void): PodTemplate {
  const { request } = reviewFixture(name);
  change?.(request.object);
  const found = podTemplateOf(request.object.kind as string, request.object);
  if (!found?.ok) throw new Error(`${name}: no pod`);
  return found.template;
}
