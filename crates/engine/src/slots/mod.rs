//! Ranking a slot: the request and answer types ([`slot`]), the
//! [`candidates`] pool, the pipeline every slot kind runs ([`rank`]) and
//! the [`surfaces`] that propose candidates for each kind.

pub mod candidates;
pub mod rank;
pub mod slot;
pub mod surfaces;
