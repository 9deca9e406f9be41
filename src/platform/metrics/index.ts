export { MetricsModule } from './metrics.module';
export { WardenMetrics } from './metrics';
