//! Test support for the live protocol: a 3-D face renderer, subjects made from real
//! photos, a protocol client and the attack suite's scripts.

#![allow(dead_code)]

pub mod client;
pub mod render;
pub mod scripts;
pub mod subject;
