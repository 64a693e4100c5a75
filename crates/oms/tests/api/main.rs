//! The OMS over real sockets: one test binary; `helpers::spawn_app` starts
//! the real server on port 0 with its own data folder, on SQLite or, in the
//! `pg` tier, on PostgreSQL (see `db`).

mod db;
mod helpers;

mod auth;
mod bad_input;
mod catalog;
mod connections;
mod exceptions;
mod faults;
mod journal;
mod lanes;
mod orders;
mod payments;
mod processes;
mod refunds;
mod registers;
mod serving;
mod shifts;
mod staff;
mod start;
mod stores;
mod tls;
