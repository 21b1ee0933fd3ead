//! Implementations of the ports. [`memory`] is always compiled; the others
//! come with cargo features (see the crate docs).

pub mod file;
pub mod memory;
pub mod routing;

#[cfg(any(feature = "slack", feature = "webhook", feature = "provider-api"))]
pub mod http;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "provider-api")]
pub mod provider_api;
#[cfg(feature = "slack")]
pub mod slack;
#[cfg(feature = "smtp")]
pub mod smtp;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "webhook")]
pub mod webhook;
