//! The register's screens and their addresses, in one list: links, the
//! router and code that moves the cashier all name a [`Screen`], never a
//! path written out by hand.

use std::fmt;
use std::rc::Rc;
use till_core::order::OrderId;
use till_core::refund::RefundId;
use till_core::register::Page;

/// A screen of the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Register,
    Pay,
    /// A paid sale's receipt.
    Receipt(OrderId),
    /// The register's sales (today's, and one by number).
    Sales,
    Sale(OrderId),
    /// The refund screen of a sale.
    RefundOf(OrderId),
    /// A refund's receipt.
    RefundReceipt(RefundId),
    /// A return without a receipt.
    Return,
    Safety,
    DayEnd,
    Shift,
    Settings,
}

/// The address of the screen (what the router matches).
impl fmt::Display for Screen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Screen::Register => f.write_str("/"),
            Screen::Pay => f.write_str("/pay"),
            Screen::Receipt(id) => write!(f, "/receipt/{id}"),
            Screen::Sales => f.write_str("/sales"),
            Screen::Sale(id) => write!(f, "/sales/{id}"),
            Screen::RefundOf(id) => write!(f, "/sales/{id}/refund"),
            Screen::RefundReceipt(id) => write!(f, "/refund/{id}"),
            Screen::Return => f.write_str("/return"),
            Screen::Safety => f.write_str("/safety"),
            Screen::DayEnd => f.write_str("/day-end"),
            Screen::Shift => f.write_str("/shift"),
            Screen::Settings => f.write_str("/settings"),
        }
    }
}

impl Screen {
    /// The address, for a link's `href`.
    pub fn href(self) -> String {
        self.to_string()
    }
}

impl From<Page> for Screen {
    fn from(page: Page) -> Screen {
        match page {
            Page::Register => Screen::Register,
            Page::Pay => Screen::Pay,
        }
    }
}

/// The router's navigation: moves to an address.
pub(super) type Navigate = Rc<dyn Fn(&str)>;

/// The router's navigation once it is mounted, and a move asked for
/// before then (performed at mount).
#[derive(Default)]
pub(super) struct Navigator {
    navigate: Option<Navigate>,
    pending: Option<Screen>,
}

impl Navigator {
    /// The navigation to call now (outside the borrow of this value: the
    /// router may run code that moves again), or `None` when the move
    /// waits for the router.
    pub(super) fn route(&mut self, screen: Screen) -> Option<Navigate> {
        if self.navigate.is_none() {
            self.pending = Some(screen);
        }
        self.navigate.clone()
    }

    /// Keeps the router's navigation; returns the move that waited for it.
    pub(super) fn mount(&mut self, navigate: Navigate) -> Option<Screen> {
        self.navigate = Some(navigate);
        self.pending.take()
    }
}
