//! Logging: `RUST_LOG`-style filters, text or JSON lines.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::ParseError;

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A `RUST_LOG`-style filter known to parse: made only by [`parse_filter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFilter(String);

impl LogFilter {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a `RUST_LOG`-style filter: the value parser of `--log-filter`, so an invalid filter stops
/// the start with a message naming the flag instead of logging at another level.
pub fn parse_filter(filter: &str) -> Result<LogFilter, ParseError> {
    EnvFilter::try_new(filter).map(|_| LogFilter(filter.to_string()))
}

/// Installs the global subscriber.
pub fn init(format: LogFormat, filter: &LogFilter) {
    let filter = EnvFilter::try_new(filter.as_str()).expect("a LogFilter parses (parse_filter checked it)");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_filter;

    #[test]
    fn valid_filters_pass_unchanged() {
        for f in ["info", "warn,vpc_lattice_operator=debug", "kube=trace", "off"] {
            assert_eq!(
                parse_filter(f).ok().as_ref().map(super::LogFilter::as_str),
                Some(f),
                "{f}"
            );
        }
    }

    #[test]
    fn invalid_filters_are_refused() {
        for f in ["info,vpc_lattice_operator=loud", "[{", "kube=debug=trace"] {
            assert!(parse_filter(f).is_err(), "{f} should be refused");
        }
    }
}
