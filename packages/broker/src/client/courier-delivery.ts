/**
 * A delivery received over `courier://`: its settle calls become
 * settlements, gathered by the transport into one SETTLE frame per turn.
 * Settlements of a link that has since dropped are discarded (its tokens
 * mean nothing on the next one).
 */
import type { Delivery, RawMessage } from '@courier/core';
import { SettleKind, type Settlement } from '../protocol/frame-types.js';

/** Where settlements go: the transport's batch for the link of `epoch`. */
export interface SettlementSink {
  settle(epoch: number, settlement: Settlement): void;
}

const SETTLED = Promise.resolve();

/**
 * The delivery of `delivered` to `consumer` on the link of `epoch`. Its
 * methods are own properties, so wrappers may copy it with object spread.
 */
export function courierDelivery(
  sink: SettlementSink,
  epoch: number,
  consumer: number,
  delivered: { token: number; attempt: number; message: RawMessage },
): Delivery {
  const { token } = delivered;
  return {
    message: delivered.message,
    attempt: delivered.attempt,
    ack: () => {
      sink.settle(epoch, { kind: SettleKind.ACK, consumer, token });
      return SETTLED;
    },
    nack: (delay) => {
      sink.settle(epoch, { kind: SettleKind.NACK, consumer, token, delay: Math.max(0, Math.round(delay)) });
      return SETTLED;
    },
    deadLetter: (error) => {
      sink.settle(epoch, { kind: SettleKind.DEAD, consumer, token, error });
      return SETTLED;
    },
    touch: () => sink.settle(epoch, { kind: SettleKind.TOUCH, consumer, token }),
  };
}
