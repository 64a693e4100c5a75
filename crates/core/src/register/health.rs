//! Whether the back office and the bridge are there, and the business day
//! the register's sequence is aligned to.

use super::*;

impl Register {
    pub(super) fn set_oms_reach(&mut self, reachable: bool, now: Timestamp, out: &mut Vec<Effect>) {
        let was = self.oms;
        if was == Reach::Removed {
            // For good: a removed register's token stays refused.
            return;
        }
        self.oms = if reachable {
            Reach::Online
        } else {
            Reach::Offline
        };
        if reachable && was == Reach::Offline {
            // Back after an outage: send now, not after the backoff, and
            // look for the payments that were reported meanwhile.
            self.sync_event(SyncEvent::OmsBack, now, out);
            self.refresh.oms_back(now);
            self.reconcile_all(now, out);
        }
    }

    pub(super) fn on_bridge_health(
        &mut self,
        link: crate::lan::BridgeLink,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        self.bridge_probe = false;
        self.bridge_link = link;
        let reachable = link.is_connected();
        let was = self.bridge;
        self.bridge = if reachable {
            Reach::Online
        } else {
            Reach::Offline
        };
        if reachable && was == Reach::Offline {
            self.reconcile_all(now, out);
        }
    }

    /// Once a day, when the back office answers: today's numbering continues
    /// after what it already holds for this register (after lost storage).
    pub(super) fn align(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        if self.oms != Reach::Online || self.align_in_flight {
            return;
        }
        let Ok(today) = BusinessDate::at(now, self.config.utc_offset_min) else {
            return;
        };
        if self.aligned != Some(today) {
            self.align_in_flight = true;
            out.push(Effect::Oms(OmsCall::Day { date: today }));
        }
    }
}
