export { DockerApiModule } from './docker-api.module';
export { DockerApiServer } from './docker-api.server';
export { FORWARD_PREFIX } from './node-forward';
