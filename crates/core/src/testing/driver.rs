//! One driver for the tests of every sans-IO machine: a simulated clock,
//! every output in the order it came, and the machine's timers fired as
//! the clock moves, exactly when `poll_timeout` says. The register's tests
//! ([`super::till::TestTill`]) and the card session's tests drive their
//! machine through it; nothing sleeps and nothing depends on the machine
//! the tests run on.

use crate::payment::{Command, Event, PaymentSession};
use crate::register::{Effect, Input, Register};
use crate::time::{Duration, Timestamp};

/// A machine that takes inputs with the time, returns its outputs, and
/// says when it next wants to run.
pub trait Machine {
    type Input;
    type Output: Clone;
    fn handle(&mut self, input: Self::Input, now: Timestamp) -> Vec<Self::Output>;
    fn poll_timeout(&self) -> Option<Timestamp>;
    /// The input that says time has passed.
    fn tick() -> Self::Input;
}

impl Machine for Register {
    type Input = Input;
    type Output = Effect;
    fn handle(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        Register::handle(self, input, now)
    }
    fn poll_timeout(&self) -> Option<Timestamp> {
        Register::poll_timeout(self)
    }
    fn tick() -> Input {
        Input::Tick
    }
}

impl Machine for PaymentSession {
    type Input = Event;
    type Output = Command;
    fn handle(&mut self, input: Event, now: Timestamp) -> Vec<Command> {
        PaymentSession::handle(self, input, now)
    }
    fn poll_timeout(&self) -> Option<Timestamp> {
        PaymentSession::poll_timeout(self)
    }
    fn tick() -> Event {
        Event::Tick
    }
}

/// A machine on a simulated clock, with everything it has issued.
pub struct Driver<M: Machine> {
    pub machine: M,
    pub now: Timestamp,
    /// Every output so far, oldest first.
    pub issued: Vec<M::Output>,
}

impl<M: Machine> Driver<M> {
    /// `machine` at `now`, having issued `first` (its start's outputs).
    pub fn new(machine: M, now: Timestamp, first: Vec<M::Output>) -> Driver<M> {
        Driver {
            machine,
            now,
            issued: first,
        }
    }

    /// Feeds one input at the current time; returns what came out.
    pub fn feed(&mut self, input: M::Input) -> Vec<M::Output> {
        let out = self.machine.handle(input, self.now);
        self.issued.extend(out.iter().cloned());
        out
    }

    /// The next timer due by `end`: the clock moves to it and the machine
    /// ticks (its outputs are returned, for the test to answer). `None`
    /// when no timer falls due by then: the clock is at `end`.
    pub fn tick_until(&mut self, end: Timestamp) -> Option<Vec<M::Output>> {
        match self.machine.poll_timeout() {
            Some(t) if t <= end => {
                self.now = t.max(self.now);
                Some(self.feed(M::tick()))
            }
            _ => {
                self.now = self.now.max(end);
                None
            }
        }
    }

    /// Moves the clock on by `by`, ticking at every timer on the way;
    /// what the ticks issued is in [`Driver::issued`].
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while self.tick_until(end).is_some() {}
    }

    /// How many outputs so far `f` picks out.
    pub fn count(&self, f: impl Fn(&M::Output) -> bool) -> usize {
        self.issued.iter().filter(|c| f(c)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::{PaymentConfig, PaymentRef, Reply, Request};

    #[test]
    fn timers_fire_when_due_and_the_clock_ends_where_asked() {
        let t0 = Timestamp::from_millis(1_000_000);
        let reference = PaymentRef::from_uuid(uuid::Uuid::from_u128(7));
        let order = crate::order::OrderId::from_uuid(uuid::Uuid::from_u128(
            0x0192_0000_0000_7000_8000_0000_0000_0001,
        ))
        .expect("a UUID v7");
        let (session, first) = PaymentSession::start(
            reference,
            order,
            super::super::eur(1000),
            PaymentConfig::default(),
            t0,
        )
        .expect("a session");
        let mut d = Driver::new(session, t0, first);
        d.feed(Event::Replied {
            reference,
            to: Request::Probe,
            reply: Reply::Accepted,
        });
        d.feed(Event::Replied {
            reference,
            to: Request::Start,
            reply: Reply::Accepted,
        });
        let polls = |d: &Driver<PaymentSession>| {
            d.count(|c| {
                matches!(
                    c,
                    Command::QueryStatus {
                        request: Request::Poll,
                        ..
                    }
                )
            })
        };
        assert_eq!(polls(&d), 0);
        d.advance(Duration::from_secs(5));
        assert!(polls(&d) >= 1, "the session polled while the clock moved");
        assert_eq!(d.now, t0 + Duration::from_secs(5));
    }
}
