//! The bridge over real sockets, with its simulated terminal, and a real
//! OMS for the reports.

mod helpers;

mod bad_input;
mod pairing;
mod payments;
mod refunds;
mod reports;
mod security;
