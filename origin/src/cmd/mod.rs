//! One module per subcommand, each with `Args` and `run`.

pub mod build;
pub mod generate;
pub mod keygen;
pub mod publish;
pub mod rank;
pub mod site;
pub mod verify;

/// The current time, unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
