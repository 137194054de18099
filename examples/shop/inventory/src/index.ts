/**
 * inventory: answers `inventory.reserve` by request-reply. The launcher runs
 * two instances (`INSTANCE=inventory-1` and `inventory-2`); each request goes
 * to exactly one of them, and the reply says which.
 */
import { CATALOG, MAX_QTY_PER_ORDER, Reserve, runService } from '@courier/shop-contracts';

await runService({
  service: 'inventory',
  async start({ bus, instance, log }) {
    let reservations = 0;
    const handler = bus.handle(Reserve, async ({ sku, qty }) => {
      const unitPrice = CATALOG[sku];
      if (unitPrice === undefined) {
        const known = Object.keys(CATALOG).join(', ');
        log(`refused ${qty} x ${sku}: unknown SKU`);
        return { ok: false, instance, reason: `unknown SKU ${sku}; the shop sells ${known}` };
      }
      if (qty > MAX_QTY_PER_ORDER) {
        log(`refused ${qty} x ${sku}: more than ${MAX_QTY_PER_ORDER}`);
        return {
          ok: false,
          instance,
          reason: `at most ${MAX_QTY_PER_ORDER} of one SKU per order, asked for ${qty}`,
        };
      }
      reservations++;
      const reservationId = `${instance}-r${reservations}`;
      log(`reserved ${qty} x ${sku} as ${reservationId}`);
      return { ok: true, instance, reservationId, unitPrice };
    });
    await handler.ready;
    return undefined;
  },
});
