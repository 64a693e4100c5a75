//! One line per event, for a violation's report: what a person needs to
//! follow a run (order numbers, versions, states), not every field.

use till_core::order::Order;
use till_core::payment::{PaymentRef, Reply};
use till_core::register::{BridgeCall, Input, OmsCall, OmsReply, StoreTx, Stored};
use till_core::update::Change;

fn id(o: &impl std::fmt::Display) -> String {
    o.to_string().chars().skip(24).collect()
}

fn r(p: &PaymentRef) -> String {
    p.short()
}

fn order(o: &Order) -> String {
    let mut s = format!(
        "{} ({}) v{} {}",
        o.number,
        id(&o.id),
        o.version,
        o.status_text([])
    );
    if !o.tenders.is_empty() {
        let t: Vec<String> = o
            .tenders
            .iter()
            .map(|t| format!("{} {}", t.method(), t.amount()))
            .collect();
        s.push_str(&format!(" [{}]", t.join(", ")));
    }
    s
}

pub fn tx(t: &StoreTx) -> String {
    match t {
        StoreTx::Update(req) => {
            let change = match &req.change {
                Change::Cash { received } => format!("cash {received}"),
                Change::CardRequested { attempt } => format!(
                    "card requested {} {}",
                    r(&attempt.reference),
                    attempt.amount
                ),
                Change::Attempt(a) => format!("attempt {} {}", r(&a.reference), a.state.label()),
                Change::Settle {
                    attempt,
                    settlement,
                } => format!(
                    "settle {} {} {settlement:?}",
                    r(&attempt.reference),
                    attempt.state.label()
                ),
                Change::Void { .. } => "void".into(),
            };
            format!("Update {} {change}", id(&req.order_id))
        }
        StoreTx::SaveSale { sale, replaces } => format!(
            "SaveSale {} ({} lines) replaces {:?}",
            id(&sale.id),
            sale.cart.lines.len(),
            replaces.map(|o| id(&o))
        ),
        StoreTx::ApplyOutbox(c) => format!("ApplyOutbox {c:?}").chars().take(300).collect(),
        other => format!("{other:?}"),
    }
}

pub fn bridge(c: &BridgeCall) -> String {
    match c {
        BridgeCall::Start(s) => format!(
            "Start {} for {} {}",
            r(&s.reference),
            id(&s.order_id),
            s.amount
        ),
        BridgeCall::StartRefund(s) => format!(
            "StartRefund {} of {} for {} {}",
            r(&s.reference),
            r(&s.original),
            id(&s.order_id),
            s.amount
        ),
        BridgeCall::Probe { reference } => format!("Probe {}", r(reference)),
        BridgeCall::Status { reference, to } => format!("Status {} ({to:?})", r(reference)),
        BridgeCall::Cancel { reference } => format!("Cancel {}", r(reference)),
        BridgeCall::Health => "Health".into(),
    }
}

fn reply(x: &Reply) -> String {
    match x {
        Reply::Status(s) => s.word().into(),
        other => format!("{other:?}"),
    }
}

pub fn input(i: &Input) -> String {
    match i {
        Input::Stored { op, result } => match result {
            Ok(Stored::Updated(u)) => format!(
                "stored #{op}: {}{}",
                order(&u.order),
                if u.next_sale.is_some() {
                    " — sale finished"
                } else {
                    ""
                }
            ),
            Ok(Stored::Loaded(l)) => format!(
                "stored #{op}: loaded sale {:?}, {} attempts, {:?}",
                l.sale.as_ref().map(|s| id(&s.id)),
                l.attempts.len(),
                l.outbox
            ),
            Ok(Stored::Due(d)) => format!(
                "stored #{op}: due {:?}",
                d.entries
                    .iter()
                    .map(|(e, o)| (id(&e.record_id), e.version, o.as_ref().map(|o| o.version())))
                    .collect::<Vec<_>>()
            ),
            Ok(other) => format!("stored #{op}: {other:?}"),
            Err(e) => format!("stored #{op}: FAILED {e}"),
        },
        Input::Bridge {
            reference,
            to,
            reply: x,
        } => format!("bridge {} {to:?}: {}", r(reference), reply(x)),
        Input::Oms(OmsReply::Batch { batch, result }) => match result {
            Ok(rs) => format!(
                "oms batch {batch}: {:?}",
                rs.iter()
                    .map(|x| (
                        x.id.as_deref()
                            .map(|s| s.chars().skip(24).collect::<String>()),
                        x.status,
                        x.version
                    ))
                    .collect::<Vec<_>>()
            ),
            Err(e) => format!("oms batch {batch}: {e:?}"),
        },
        Input::Oms(OmsReply::Lookup { order_id, result }) => format!(
            "oms lookup {}: {:?}",
            id(order_id),
            result.as_ref().map(|l| l.as_ref().map(|l| (
                l.order.as_ref().map(|o| o.version),
                l.payments
                    .iter()
                    .map(|p| r(&p.reference))
                    .collect::<Vec<_>>()
            )))
        ),
        Input::Cashier(a) => format!("cashier {a:?}").chars().take(120).collect(),
        other => format!("{other:?}"),
    }
}

pub fn oms(c: &OmsCall) -> String {
    match c {
        OmsCall::SendBatch { batch, orders, .. } => format!(
            "batch {batch}: {:?}",
            orders
                .iter()
                .map(|o| (id(&o.id), o.version))
                .collect::<Vec<_>>()
        ),
        other => format!("{other:?}"),
    }
}

/// How a call of the bridge to the terminal ended.
pub fn call(c: &till_bridge::driver::CallResult) -> String {
    use till_bridge::driver::CallResult;
    match c {
        CallResult::Answered(r) => {
            let o = r.body.outcome();
            format!(
                "{:?} {:?} {:?}",
                r.body.category(),
                o.result,
                o.error_condition
            )
        }
        CallResult::Empty => "200, no body".into(),
        CallResult::NotConnected(why) => format!("not connected: {why}"),
        CallResult::Lost(why) => format!("lost: {why}"),
    }
}
