//! What the screen keeps of the register's word: the last [`UiEvent`] of
//! each [`Answer`] kind, until a newer one of that kind replaces it, an
//! event that ends it arrives, or the page that shows it clears it.
//!
//! The app holds one [`Answers`] and every page reads the kind it shows
//! ("why the card payment ended" on the payment page, "why nobody was
//! signed in" on the sign-in screen), instead of one signal per message.
//! Which event ends which answer is a rule of the register, so it is here:
//! going back to the register page ends the payment page's message, a
//! written shift ends the shift's refusal, a refusal ends the last "done".

use super::io::{Page, UiEvent};
use std::collections::BTreeMap;

/// The kind of a [`UiEvent`]: the key its answer is kept under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Answer {
    Navigate,
    PayMessage,
    RegisterMessage,
    Notice,
    Alert,
    Print,
    OrderWritten,
    OrderMessage,
    Refunded,
    RefundRefused,
    SignInRefused,
    ApprovalRefused,
    Authorized,
    ShiftWritten,
    ShiftDone,
    ShiftRefused,
}

impl UiEvent {
    /// The kind this event's answer is kept under.
    pub fn kind(&self) -> Answer {
        match self {
            UiEvent::Navigate(_) => Answer::Navigate,
            UiEvent::PayMessage(_) => Answer::PayMessage,
            UiEvent::RegisterMessage(_) => Answer::RegisterMessage,
            UiEvent::Notice(_) => Answer::Notice,
            UiEvent::Alert(_) => Answer::Alert,
            UiEvent::Print(_) => Answer::Print,
            UiEvent::OrderWritten(_) => Answer::OrderWritten,
            UiEvent::OrderMessage { .. } => Answer::OrderMessage,
            UiEvent::Refunded(_) => Answer::Refunded,
            UiEvent::RefundRefused { .. } => Answer::RefundRefused,
            UiEvent::SignInRefused(_) => Answer::SignInRefused,
            UiEvent::ApprovalRefused(_) => Answer::ApprovalRefused,
            UiEvent::Authorized(_) => Answer::Authorized,
            UiEvent::ShiftWritten(_) => Answer::ShiftWritten,
            UiEvent::ShiftDone(_) => Answer::ShiftDone,
            UiEvent::ShiftRefused(_) => Answer::ShiftRefused,
        }
    }

    /// The sentence this event puts on screen, for the events that are one.
    pub fn text(&self) -> Option<&str> {
        match self {
            UiEvent::PayMessage(t)
            | UiEvent::RegisterMessage(t)
            | UiEvent::Alert(t)
            | UiEvent::SignInRefused(t)
            | UiEvent::ApprovalRefused(t)
            | UiEvent::ShiftDone(t)
            | UiEvent::ShiftRefused(t)
            | UiEvent::OrderMessage { text: t, .. }
            | UiEvent::RefundRefused { text: t, .. } => Some(t),
            UiEvent::Notice(n) => Some(&n.text),
            _ => None,
        }
    }

    /// The answers this event ends: what was said before it no longer holds.
    fn ends(&self) -> &'static [Answer] {
        match self {
            UiEvent::Navigate(Page::Register) => &[Answer::PayMessage],
            UiEvent::ShiftWritten(_) => &[Answer::ShiftRefused],
            UiEvent::ShiftRefused(_) => &[Answer::ShiftDone],
            _ => &[],
        }
    }
}

/// The last event of each kind, each with the number of events shown
/// before it: a page that acts on an event (reads the orders again, takes
/// a receipt to print) notices a new one by its number, even when it says
/// the same as the last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    last: BTreeMap<Answer, (u64, UiEvent)>,
    shown: u64,
}

impl Answers {
    /// Keeps `event` as its kind's answer, and ends what it ends.
    pub fn show(&mut self, event: UiEvent) {
        for ended in event.ends() {
            self.last.remove(ended);
        }
        self.shown += 1;
        self.last.insert(event.kind(), (self.shown, event));
    }

    /// The answer of `kind` on screen, if any.
    pub fn get(&self, kind: Answer) -> Option<&UiEvent> {
        self.last.get(&kind).map(|(_, e)| e)
    }

    /// The sentence the answer of `kind` says, if it is one.
    pub fn text(&self, kind: Answer) -> Option<&str> {
        self.get(kind).and_then(UiEvent::text)
    }

    /// Which event the answer of `kind` is (0 before any): it changes with
    /// every new event of that kind.
    pub fn number(&self, kind: Answer) -> u64 {
        self.last.get(&kind).map_or(0, |(n, _)| *n)
    }

    /// Takes the answer of `kind` off the screen; whether there was one.
    pub fn clear(&mut self, kind: Answer) -> bool {
        self.last.remove(&kind).is_some()
    }

    /// Takes the answer of `kind` and clears it (a receipt to print once).
    pub fn take(&mut self, kind: Answer) -> Option<UiEvent> {
        self.last.remove(&kind).map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_keeps_its_last_answer() {
        let mut a = Answers::default();
        a.show(UiEvent::PayMessage("Declined".into()));
        a.show(UiEvent::SignInRefused("Wrong PIN".into()));
        a.show(UiEvent::PayMessage("Cancelled".into()));
        assert_eq!(a.text(Answer::PayMessage), Some("Cancelled"));
        assert_eq!(a.text(Answer::SignInRefused), Some("Wrong PIN"));
        assert_eq!(a.text(Answer::RegisterMessage), None);
        assert!(a.clear(Answer::PayMessage));
        assert!(!a.clear(Answer::PayMessage));
        assert_eq!(a.text(Answer::PayMessage), None);
    }

    #[test]
    fn the_same_words_again_are_a_new_answer() {
        let mut a = Answers::default();
        assert_eq!(a.number(Answer::ShiftDone), 0);
        a.show(UiEvent::ShiftDone("Drawer opened (no sale).".into()));
        let first = a.number(Answer::ShiftDone);
        a.show(UiEvent::ShiftDone("Drawer opened (no sale).".into()));
        assert!(a.number(Answer::ShiftDone) > first);
    }

    #[test]
    fn events_end_what_no_longer_holds() {
        let mut a = Answers::default();
        a.show(UiEvent::PayMessage("Declined".into()));
        a.show(UiEvent::Navigate(Page::Pay));
        assert!(
            a.get(Answer::PayMessage).is_some(),
            "the payment page keeps its word"
        );
        a.show(UiEvent::Navigate(Page::Register));
        assert!(a.get(Answer::PayMessage).is_none());

        a.show(UiEvent::ShiftDone("Shift opened.".into()));
        a.show(UiEvent::ShiftRefused("Count the drawer first.".into()));
        assert!(a.get(Answer::ShiftDone).is_none());
        let shift =
            crate::testing::open_shift(1, crate::time::Timestamp::from_millis(1_700_000_000_000));
        a.show(UiEvent::ShiftWritten(Box::new(shift)));
        assert!(a.get(Answer::ShiftRefused).is_none());
        assert!(a.get(Answer::ShiftWritten).is_some());
    }

    #[test]
    fn a_receipt_to_print_is_taken_once() {
        let mut a = Answers::default();
        let raw = uuid::Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001);
        let id = crate::order::OrderId::from_uuid(raw).expect("a UUID v7");
        a.show(UiEvent::Print(id));
        assert_eq!(a.take(Answer::Print), Some(UiEvent::Print(id)));
        assert_eq!(a.take(Answer::Print), None);
    }
}
