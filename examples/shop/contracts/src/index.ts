/** @courier/shop-contracts: the shop's contracts and the process scaffolding its services share. */
export {
  CATALOG,
  MAX_QTY_PER_ORDER,
  OrderBilled,
  OrderCreated,
  OrderNotified,
  OrderReminded,
  ReminderDue,
  Reserve,
} from './contracts.js';
export type { RunServiceOptions, ServiceContext } from './service-process.js';
export { DEFAULT_URL, durationFromEnv, numberFromEnv, redact, runService } from './service-process.js';
