export { DockerApiModule } from './docker-api.module';
export { DockerApiServer } from './docker-api.server';
