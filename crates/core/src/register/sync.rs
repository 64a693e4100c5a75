//! The sync with the back office: the driver's commands, the outbox's
//! writes, and the back office's answers.

use super::*;

impl Register {
    pub(super) fn sync_event(&mut self, event: SyncEvent, now: Timestamp, out: &mut Vec<Effect>) {
        let rng = &mut self.rng;
        let cmds = self
            .sync
            .handle(event, now, &mut || (rng.next_u32() % 1001) as u16);
        self.sync_commands(cmds, now, out);
    }

    pub(super) fn sync_commands(
        &mut self,
        cmds: Vec<SyncCommand>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        for cmd in cmds {
            match cmd {
                SyncCommand::LoadDue { limit } => {
                    let tx = StoreTx::LoadDue { limit, now };
                    self.store(Op::Sync, tx, out)
                }
                SyncCommand::SendBatch {
                    batch,
                    orders,
                    refunds,
                    shifts,
                } => out.push(Effect::Oms(OmsCall::SendBatch {
                    batch,
                    orders,
                    refunds,
                    shifts,
                })),
                SyncCommand::ApplyOutbox(changes) => {
                    self.store(Op::Sync, StoreTx::ApplyOutbox(changes), out)
                }
                SyncCommand::RetryNow => {
                    let tx = StoreTx::RetryNow { now };
                    self.store(Op::Sync, tx, out)
                }
            }
        }
    }

    pub(super) fn on_sync_stored(
        &mut self,
        result: Result<Stored, StoreFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let event = match result {
            Ok(Stored::Due(batch)) => SyncEvent::Due(batch),
            Ok(Stored::Outbox(summary)) => SyncEvent::Applied(summary),
            Ok(_) => return,
            Err(e) => {
                Self::ui(
                    out,
                    UiEvent::Alert(format!("The sync could not use the storage: {e}")),
                );
                SyncEvent::StoreFailed
            }
        };
        self.sync_event(event, now, out);
    }

    // ---- the back office and the bridge ----

    pub(super) fn on_oms(&mut self, reply: OmsReply, now: Timestamp, out: &mut Vec<Effect>) {
        if reply.says_removed() {
            self.oms = Reach::Removed;
        }
        match reply {
            OmsReply::Health { reachable } => {
                self.oms_probe = false;
                self.set_oms_reach(reachable, now, out);
            }
            OmsReply::Batch { batch, result } => {
                match &result {
                    Ok(_) | Err(NetFailure::Refused { .. }) => self.set_oms_reach(true, now, out),
                    Err(NetFailure::Unreachable) => self.set_oms_reach(false, now, out),
                    Err(NetFailure::BadAnswer(_)) => {}
                }
                self.sync_event(SyncEvent::BatchAnswered { batch, result }, now, out);
            }
            OmsReply::Lookup { order_id, result } => self.on_lookup(order_id, result, now, out),
            OmsReply::Staff { result } => self.on_staff_reply(result, now, out),
            OmsReply::Catalog { result } => self.on_catalog_reply(result, now, out),
            OmsReply::Day { date, result } => {
                self.align_in_flight = false;
                if let Ok(numbers) = result {
                    let seen = numbers
                        .iter()
                        .filter(|n| *n.register() == self.config.register && n.date() == date)
                        .map(OrderNumber::seq)
                        .max()
                        .unwrap_or(0);
                    self.aligned = Some(date);
                    if seen > 0 {
                        self.store(
                            Op::RaiseSequence,
                            StoreTx::RaiseSequence { date, seen },
                            out,
                        );
                    }
                }
            }
        }
    }
}
