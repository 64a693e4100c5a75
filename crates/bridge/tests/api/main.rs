//! The bridge over real sockets, driving a real `till-terminal` over the
//! Terminal API (HTTPS, sealed messages), and a real OMS for the reports.

mod helpers;

mod bad_input;
mod nexo;
mod pairing;
mod payments;
mod refunds;
mod reports;
mod security;
mod start;
mod terminal;
