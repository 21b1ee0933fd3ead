//! Implementations of the ports. [`memory`] is always compiled; the others
//! come with cargo features (see the crate docs).

pub mod file;
pub mod memory;
