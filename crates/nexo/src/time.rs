//! Times in messages: ISO 8601 (`2026-12-07T09:30:00.000Z`), to the
//! millisecond, in UTC when Till writes them; any offset when it reads.

use thiserror::Error;
use till_core::time::Timestamp;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not an ISO 8601 time")]
pub struct TimeError(pub String);

/// `t` as `2026-12-07T09:30:00.000Z`.
pub fn format(t: Timestamp) -> String {
    let nanos = i128::from(t.as_millis()) * 1_000_000;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let layout =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.format(&layout)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// Reads an ISO 8601 (RFC 3339) time with any offset.
pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
    let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| TimeError(text.into()))?;
    let ms = at.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(ms)
        .map(Timestamp::from_millis)
        .map_err(|_| TimeError(text.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_utc_to_the_millisecond_and_reads_any_offset() {
        let t = Timestamp::from_millis(1_796_635_800_123);
        assert_eq!(format(t), "2026-12-07T09:30:00.123Z");
        assert_eq!(parse("2026-12-07T09:30:00.123Z"), Ok(t));
        assert_eq!(parse("2026-12-07T10:30:00.123+01:00"), Ok(t));
        assert_eq!(
            parse("2026-12-07T09:30:00Z"),
            Ok(Timestamp::from_millis(1_796_635_800_000))
        );
        assert!(parse("yesterday").is_err());
    }
}
