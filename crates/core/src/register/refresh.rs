//! The staff list and the catalog, downloaded again on the schedule of
//! [`crate::refresh::Refresh`].

use super::*;
use crate::refresh::{Download, Fetched};

impl Register {
    /// Starts the downloads that are due.
    pub(super) fn refresh_due(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        for what in self.refresh.due(now) {
            let call = match what {
                Download::Staff => OmsCall::Staff,
                Download::Catalog => OmsCall::Catalog,
            };
            out.push(Effect::Oms(call));
        }
    }

    pub(super) fn on_staff_reply(
        &mut self,
        result: Result<Vec<StaffMember>, NetFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let fetched = match result {
            Ok(staff) => {
                self.on_staff(staff, now, out);
                Fetched::Done
            }
            Err(NetFailure::Unreachable) => Fetched::Unreachable,
            Err(e) => {
                let text = format!("The staff list was not updated: {e}");
                Self::ui(out, UiEvent::Alert(text));
                Fetched::Failed
            }
        };
        self.refresh.answered(Download::Staff, fetched, now);
    }

    pub(super) fn on_catalog_reply(
        &mut self,
        result: Result<Option<Currency>, CatalogFailure>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let fetched = match result {
            Ok(Some(currency)) => {
                self.adopt_currency(currency, out);
                Fetched::Done
            }
            Ok(None) => Fetched::Done,
            // Offline: the stored catalog serves.
            Err(CatalogFailure::Net(NetFailure::Unreachable)) => Fetched::Unreachable,
            Err(e) => {
                Self::ui(out, UiEvent::Alert(e.to_string()));
                Fetched::Failed
            }
        };
        self.refresh.answered(Download::Catalog, fetched, now);
    }

    /// A new catalog sells in `currency`: new sales do, and so does the
    /// current one while it is empty (a cart with lines keeps its own).
    fn adopt_currency(&mut self, currency: Currency, out: &mut Vec<Effect>) {
        self.config.currency = currency;
        let Some(sale) = &self.sale else {
            return;
        };
        let mut cart = sale.cart.clone();
        if cart.adopt_currency(currency) {
            self.edit_cart(cart, out);
        }
    }
}
