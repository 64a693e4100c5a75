//! Points in time and durations, as plain integers of milliseconds.
//!
//! till-core never reads a clock: the caller passes `now` to every rule that
//! depends on time. Milliseconds since the Unix epoch are what both the
//! browser (`Date.now()`) and the servers can produce without conversion, are
//! exact in an `i64` for hundreds of millions of years, and make simulated
//! clocks in tests trivial (`now + Duration::from_secs(31)`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, Sub};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// A non-negative span of time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Duration(pub u64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later (a clock
    /// that stepped back must never produce a negative duration).
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    pub const fn from_secs(s: u64) -> Self {
        Self(s * 1000)
    }

    pub const fn from_mins(m: u64) -> Self {
        Self(m * 60_000)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds, rounded up: what a countdown shows ("Cancel (29 s)").
    pub const fn as_secs_ceil(self) -> u64 {
        self.0.div_ceil(1000)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturates instead of overflowing: a deadline past the end of time is
    /// still a deadline that never comes.
    fn add(self, rhs: Duration) -> Timestamp {
        let ms = i64::try_from(rhs.0).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }
}

impl Add<Duration> for Duration {
    type Output = Duration;

    /// Saturates: a wait that long never ends either way.
    fn add(self, rhs: Duration) -> Duration {
        Duration(self.0.saturating_add(rhs.0))
    }
}

impl Sub<Timestamp> for Timestamp {
    type Output = Duration;

    fn sub(self, rhs: Timestamp) -> Duration {
        self.saturating_since(rhs)
    }
}

/// The calendar date `(year, month, day)` of `t` in a zone `utc_offset_min`
/// minutes ahead of UTC (Howard Hinnant's `civil_from_days`, exact for
/// every `i64` of milliseconds a clock can produce).
pub fn civil_date(t: Timestamp, utc_offset_min: i32) -> (i64, u8, u8) {
    let local_ms =
        t.0.saturating_add(i64::from(utc_offset_min).saturating_mul(60_000));
    let days = local_ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Midnight UTC starting the calendar date `(year, month, day)` (Howard
/// Hinnant's `days_from_civil`, the inverse of [`civil_date`]).
pub fn midnight_utc(year: i64, month: u8, day: u8) -> Timestamp {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Timestamp(days.saturating_mul(86_400_000))
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{} s", self.0 / 1000)
        } else {
            write!(f, "{} ms", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_utc_is_the_first_millisecond_of_its_date() {
        for (y, m, d) in [
            (2000, 1, 1),
            (2024, 2, 29),
            (2026, 12, 7),
            (2100, 3, 1),
            (9999, 12, 31),
        ] {
            let t = midnight_utc(y, m, d);
            assert_eq!(civil_date(t, 0), (y, m, d));
            assert_ne!(civil_date(Timestamp(t.0 - 1), 0), (y, m, d));
        }
        assert_eq!(midnight_utc(1970, 1, 1), Timestamp(0));
    }

    #[test]
    fn deadlines_saturate_instead_of_overflowing() {
        assert_eq!(Timestamp(i64::MAX - 5) + Duration(10), Timestamp(i64::MAX));
        assert_eq!(Timestamp(10) - Timestamp(20), Duration::ZERO);
        assert_eq!(Timestamp(1500) - Timestamp(200), Duration(1300));
    }

    #[test]
    fn civil_dates_follow_the_calendar_and_the_zone() {
        assert_eq!(civil_date(Timestamp(0), 0), (1970, 1, 1));
        // 2026-11-27T23:30:00Z is already the 28th in Vienna (UTC+1).
        let t = Timestamp(1_795_822_200_000);
        assert_eq!(civil_date(t, 0), (2026, 11, 27));
        assert_eq!(civil_date(t, 60), (2026, 11, 28));
        assert_eq!(civil_date(t, -600), (2026, 11, 27));
        assert_eq!(civil_date(Timestamp(951_782_400_000), 0), (2000, 2, 29));
        assert_eq!(civil_date(Timestamp(-1), 0), (1969, 12, 31));
        let (y, _, _) = civil_date(Timestamp(i64::MAX), 0);
        assert!(y > 200_000_000);
    }

    #[test]
    fn countdown_rounds_up_so_it_never_shows_zero_early() {
        assert_eq!(Duration(29_001).as_secs_ceil(), 30);
        assert_eq!(Duration(29_000).as_secs_ceil(), 29);
        assert_eq!(Duration(1).as_secs_ceil(), 1);
        assert_eq!(Duration(0).as_secs_ceil(), 0);
    }
}
