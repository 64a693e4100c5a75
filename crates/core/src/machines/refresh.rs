//! When the register downloads the staff list and the catalog: at start
//! (the staff list first: sign-in waits for it), then again on a schedule,
//! so a person added or disabled, or a price changed, reaches a register
//! that stays open for days. A download that got no answer is tried again
//! soon, and at once when the back office answers again; "Switch cashier"
//! asks for the staff list at once. The shell performs the downloads; the
//! catalog's own checks are [`crate::download::CatalogDownload`]'s.

use crate::time::{Duration, Timestamp};

/// How often the staff list is downloaded again.
pub const STAFF_REFRESH: Duration = Duration::from_mins(10);
/// How often the catalog is asked for again (an unchanged catalog costs
/// one `304 Not Modified`).
pub const CATALOG_REFRESH: Duration = Duration::from_mins(15);
/// How soon a download that got no answer is tried again.
pub const REFRESH_RETRY: Duration = Duration::from_mins(1);

/// What the register downloads from the back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    Staff,
    Catalog,
}

impl Download {
    fn interval(self) -> Duration {
        match self {
            Download::Staff => STAFF_REFRESH,
            Download::Catalog => CATALOG_REFRESH,
        }
    }
}

/// How a download ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// Taken (or unchanged).
    Done,
    /// No answer: offline, or the back office is down.
    Unreachable,
    /// An answer that was refused or could not be taken; the cashier was
    /// told, and the next try waits for the schedule.
    Failed,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Slot {
    due: Option<Timestamp>,
    in_flight: bool,
    /// Its last try got no answer: the back office's return makes it due.
    unanswered: bool,
}

impl Slot {
    fn ready(&self, now: Timestamp) -> bool {
        !self.in_flight && self.due.is_some_and(|t| t <= now)
    }

    fn waiting(&self) -> Option<Timestamp> {
        self.due.filter(|_| !self.in_flight)
    }
}

/// The schedule of the two downloads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refresh {
    staff: Slot,
    catalog: Slot,
}

impl Refresh {
    /// The register has read its storage: both downloads are due.
    pub fn start(&mut self, now: Timestamp) {
        self.staff.due = Some(now);
        self.catalog.due = Some(now);
    }

    fn slot(&mut self, what: Download) -> &mut Slot {
        match what {
            Download::Staff => &mut self.staff,
            Download::Catalog => &mut self.catalog,
        }
    }

    /// The downloads to start now (each is then in flight until
    /// [`Refresh::answered`]). The catalog waits while the staff list
    /// downloads: it is large, and sign-in waits for the staff.
    pub fn due(&mut self, now: Timestamp) -> Vec<Download> {
        let mut out = Vec::new();
        for what in [Download::Staff, Download::Catalog] {
            let blocked = what == Download::Catalog && self.staff.in_flight;
            let slot = self.slot(what);
            if !blocked && slot.ready(now) {
                slot.in_flight = true;
                slot.due = None;
                out.push(what);
            }
        }
        out
    }

    /// When a download is next due; `None` while both are in flight (or
    /// the catalog waits for the staff list's answer).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let catalog = self.catalog.waiting().filter(|_| !self.staff.in_flight);
        self.staff.waiting().into_iter().chain(catalog).min()
    }

    /// A download ended: the next one follows the schedule, or the retry.
    pub fn answered(&mut self, what: Download, fetched: Fetched, now: Timestamp) {
        let slot = self.slot(what);
        slot.in_flight = false;
        slot.unanswered = fetched == Fetched::Unreachable;
        let wait = match fetched {
            Fetched::Unreachable => REFRESH_RETRY,
            Fetched::Done | Fetched::Failed => what.interval(),
        };
        slot.due = Some(now + wait);
    }

    /// Download `what` as soon as it is not already downloading.
    pub fn asap(&mut self, what: Download, now: Timestamp) {
        let slot = self.slot(what);
        slot.due = Some(slot.due.map_or(now, |t| t.min(now)));
    }

    /// The back office answers again: what got no answer is due now.
    pub fn oms_back(&mut self, now: Timestamp) {
        for what in [Download::Staff, Download::Catalog] {
            if self.slot(what).unanswered {
                self.asap(what, now);
            }
        }
    }

    /// The clock stepped back: times set from the wrong clock are pulled in.
    pub fn clock_stepped_back(&mut self, now: Timestamp) {
        for what in [Download::Staff, Download::Catalog] {
            let slot = self.slot(what);
            slot.due = slot.due.map(|t| t.min(now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    #[test]
    fn the_staff_list_comes_first_then_the_catalog() {
        let mut r = Refresh::default();
        assert_eq!(r.due(at(0)), vec![], "nothing before the start");
        r.start(at(0));
        assert_eq!(r.due(at(0)), vec![Download::Staff]);
        assert_eq!(r.poll_timeout(), None, "the catalog waits for the staff");
        assert_eq!(r.due(at(1)), vec![]);
        r.answered(Download::Staff, Fetched::Done, at(2));
        assert_eq!(r.due(at(2)), vec![Download::Catalog]);
        assert_eq!(r.poll_timeout(), Some(at(2) + STAFF_REFRESH));
    }

    #[test]
    fn each_download_comes_again_on_its_schedule() {
        let mut r = Refresh::default();
        r.start(at(0));
        r.due(at(0));
        r.answered(Download::Staff, Fetched::Done, at(0));
        r.due(at(0));
        r.answered(Download::Catalog, Fetched::Failed, at(0));
        assert_eq!(r.due(at(-1) + STAFF_REFRESH), vec![]);
        assert_eq!(r.due(at(0) + STAFF_REFRESH), vec![Download::Staff]);
        r.answered(Download::Staff, Fetched::Done, at(0) + STAFF_REFRESH);
        assert_eq!(r.due(at(0) + CATALOG_REFRESH), vec![Download::Catalog]);
    }

    #[test]
    fn no_answer_is_tried_again_soon_and_at_once_when_the_back_office_is_back() {
        let mut r = Refresh::default();
        r.start(at(0));
        r.due(at(0));
        r.answered(Download::Staff, Fetched::Unreachable, at(0));
        assert_eq!(r.poll_timeout(), Some(at(0)), "the catalog is due");
        r.due(at(0));
        r.answered(Download::Catalog, Fetched::Done, at(0));
        assert_eq!(r.poll_timeout(), Some(at(0) + REFRESH_RETRY));
        r.oms_back(at(5));
        assert_eq!(
            r.due(at(5)),
            vec![Download::Staff],
            "only what got no answer"
        );
    }

    #[test]
    fn a_switch_of_cashier_asks_at_once_but_never_twice_at_a_time() {
        let mut r = Refresh::default();
        r.start(at(0));
        r.due(at(0));
        r.asap(Download::Staff, at(1));
        assert_eq!(r.due(at(1)), vec![], "one download of a kind at a time");
        r.answered(Download::Staff, Fetched::Done, at(2));
        assert_eq!(r.due(at(2)), vec![Download::Catalog]);
        r.asap(Download::Staff, at(3));
        assert_eq!(r.due(at(3)), vec![Download::Staff]);
    }

    #[test]
    fn a_clock_that_stepped_back_pulls_the_schedule_in() {
        let mut r = Refresh::default();
        r.start(at(1000));
        r.due(at(1000));
        r.answered(Download::Staff, Fetched::Done, at(1000));
        r.due(at(1000));
        r.answered(Download::Catalog, Fetched::Done, at(1000));
        r.clock_stepped_back(at(10));
        assert_eq!(r.due(at(10)), vec![Download::Staff]);
        r.answered(Download::Staff, Fetched::Done, at(10));
        assert_eq!(r.due(at(10)), vec![Download::Catalog]);
    }
}
