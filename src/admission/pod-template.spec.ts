import { podTemplateOf } from './pod-template';
import { reviewFixture } from './testing';

describe('podTemplateOf', () => {
  it.each([
    ['pod', '/spec'],
    ['deployment', '/spec/template/spec'],
    ['statefulset', '/spec/template/spec'],
    ['daemonset', '/spec/template/spec'],
    ['replicaset', '/spec/template/spec'],
    ['job', '/spec/template/spec'],
    ['cronjob', '/spec/jobTemplate/spec/template/spec'],
  ])('finds the pod of a %s at %s', (name, pointer) => {
    const { request } = reviewFixture(name);
    const found = podTemplateOf(request.object.kind as string, request.object);
    expect(found).toMatchObject({ ok: true, template: { specPointer: pointer } });
    if (!found?.ok) throw new Error('not found');
    expect(found.template.spec.containers[0].image).toBe('corp.io/shop/web:1.2');
    expect(found.template.object.namespace).toBe('shop');
  });

  it('leaves kinds it does not review alone', () => {
    expect(podTemplateOf('Service', { spec: {} })).toBeUndefined();
  });

  it('names what is wrong with a malformed template', () => {
    expect(podTemplateOf('Deployment', { spec: {} })).toEqual({
      ok: false,
      problem: 'object.spec.template: a Deployment has a pod template here',
    });
    const bad = podTemplateOf('Pod', { spec: { containers: [{ name: 'a', image: 7 }] } });
    expect(bad).toMatchObject({ ok: false });
    expect(!bad?.ok && bad?.problem).toMatch(/^object\.spec\.containers\.0\.image: /);
  });
});
