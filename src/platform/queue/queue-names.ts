/** Every BullMQ queue Warden uses. Each queue's job catalogue lives with the module that owns it. */
export enum QueueName {
  Audit = 'audit',
  Usage = 'usage',
  Reports = 'reports',
}
